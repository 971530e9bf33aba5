// Where the host keeps things. One data directory (0700, owned by the host user) holds
// everything but the LMTP socket: the spool, each bot's account folder, logs and metrics.
//   <data>/host.json                 host config (host init)
//   <data>/serve.lock                held by the one `host serve` of this directory (data-dir-lock.ts)
//   <data>/spool/                    durable queue of incoming mail (host/spool)
//   <data>/bots/<addr>/bot.json      an installed bot: { name, enabled, origins, … } — its existence
//                                    is what makes an address a bot (deliver answers 67 otherwise)
//   <data>/bots/<addr>/password      the account password (0600)
//   <data>/bots/<addr>/current/      bot.js + chatbot.json of the installed version
//   <data>/bots/<addr>/previous/     the version before, for rollback
//   <data>/bots/<addr>/account.json  when the host last logged in as the bot over IMAP (deploy-watcher)
//   <data>/bots/<addr>/…             key.asc, securejoin.json, peers.json (+ .log), state.json (+ .log: service/bot-state-file.ts), … (host/wire)
//   <data>/deploys/<addr>.json       when the address was installed in the last day (relay-quotas.ts):
//                                    outside the bot's folder, so removing the bot does not reset it
//   <data>/removed/<addr>.<time>/    removed bots' folders, the newest REMOVED_COPIES_PER_BOT per address
//   <data>/tick-index.json           what the tick scan knew of each bot (tick-scheduler.ts), so a
//                                    start stats every bot's files instead of reading them
//   <data>/watch-index.json          each bot's next IMAP check (deploy-watcher.ts), kept across starts
//   <data>/logs/host.jsonl           structured log (JSON lines)
//   <data>/metrics.prom              Prometheus text-format counters (host serve rewrites it every 10 s)
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isAccountAddress } from "../../core/address.js";

/** The data directory when neither --data-dir nor CHATBOT_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = "/var/lib/chatbot";

/**
 * Where `host serve` listens for LMTP unless host.json says otherwise: a folder of its own in
 * Postfix's queue directory, reachable by Postfix's lmtp(8) client chrooted or not as
 * `lmtp:unix:chatbot/lmtp.sock` (relative to the queue directory, like Dovecot's
 * `lmtp:unix:private/dovecot-lmtp`). Root creates the folder setgid postfix (README "Install").
 */
export const DEFAULT_LMTP_SOCKET = "/var/spool/postfix/chatbot/lmtp.sock";

/** The data directory: an explicit flag, else $CHATBOT_DATA_DIR, else the default. */
export function dataDirFrom(cwd: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(cwd, flag ?? env.CHATBOT_DATA_DIR ?? DEFAULT_DATA_DIR);
}

/** Paths under one data directory. */
export function hostPaths(dataDir: string) {
  return {
    dataDir,
    config: join(dataDir, "host.json"),
    spool: join(dataDir, "spool"),
    bots: join(dataDir, "bots"),
    logs: join(dataDir, "logs"),
    logFile: join(dataDir, "logs", "host.jsonl"),
    metrics: join(dataDir, "metrics.prom"),
    /** Install history per address, kept apart from the bot's folder (relay-quotas.ts). */
    deploys: (addr: string) => join(dataDir, "deploys", `${addr.toLowerCase()}.json`),
    removed: join(dataDir, "removed"),
    /** What the tick scan knew of each bot (tick-scheduler.ts), so a start stats bots' files instead of reading them. */
    tickIndex: join(dataDir, "tick-index.json"),
    /** Each bot's next IMAP check (deploy-watcher.ts), kept across starts. */
    watchIndex: join(dataDir, "watch-index.json"),
    bot: (addr: string) => {
      const dir = join(dataDir, "bots", addr.toLowerCase());
      return {
        dir,
        config: join(dir, "bot.json"),
        password: join(dir, "password"),
        current: join(dir, "current"),
        previous: join(dir, "previous"),
        /** Present while the author has the bot paused (`chatbot deploy --pause`): {at, by}. */
        paused: join(dir, "paused.json"),
      };
    },
  };
}

/** The addresses of the installed bots (folders with a bot.json), sorted; none when there is no bots folder yet. */
export async function installedBotAddresses(dataDir: string): Promise<string[]> {
  const paths = hostPaths(dataDir);
  const names = await readdir(paths.bots).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  return names.filter((name) => name.includes("@") && existsSync(paths.bot(name).config)).sort();
}

/** The installed bots that get their mail: all but those their author paused (the transport table's lines). */
export async function routedBotAddresses(dataDir: string): Promise<string[]> {
  return (await installedBotAddresses(dataDir)).filter((addr) => !existsSync(hostPaths(dataDir).bot(addr).paused));
}

/** True when `addr` is an installed bot that is not paused (what the LMTP door accepts mail for). */
export function isRoutedBot(dataDir: string, addr: string): boolean {
  return isInstalledBot(dataDir, addr) && !existsSync(hostPaths(dataDir).bot(addr).paused);
}

/** True when `addr` is an installed bot of this host (a cheap check for the delivery doors). */
export function isInstalledBot(dataDir: string, addr: string): boolean {
  if (!isAccountAddress(addr)) return false;
  return existsSync(hostPaths(dataDir).bot(addr).config);
}
