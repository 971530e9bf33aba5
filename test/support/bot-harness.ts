// Hosts a real bot on the test relay for end-to-end tests: Postfix pipes the bot's mail to the
// relay's capture command, and this harness hands every captured mail to handleMail (the same
// path `chatbot host serve` takes, without its durable spool), submitting replies over SMTP.
import { mkdtempSync, cpSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "./host-walls.js";
import type { HostFetchSettings } from "../../host/executor/run-types.js";
import { buildLocalBot } from "../../host/local/local-bot.js";
import { openBotAccount, type BotAccount } from "../../host/wire/bot-account.js";
import { inviteLink } from "../../host/wire/securejoin/invite-link.js";
import { createSmtpSubmitter, type SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { BotStateFile } from "../../host/service/bot-state-file.js";
import type { HostedBot } from "../../host/service/hosted-bot.js";
import { handleMail, handleTick, type MailReport } from "../../host/service/handle-mail.js";
import type { HostEvent } from "../../host/service/host-event.js";
import type { LogRecord } from "../../host/service/log-lines.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { TestRelay } from "./relay.js";
import { addDiagnostics } from "./diagnostics.js";

const TEMPLATES = fileURLToPath(new URL("../../templates/", import.meta.url));

/** A bot running on the test relay. */
export interface BotOnRelay {
  addr: string;
  /** The host's data dir: the bot account's files are under bots/<addr>/ (openBotAccount). */
  dataDir: string;
  account: BotAccount;
  bot: HostedBot;
  /** The events the host logged, and the harness's own `harness.error` lines, read like log lines. */
  logs: LogRecord[];
  /** Every handled mail's report, in order. */
  reports: MailReport[];
  /** The bot's contact invite link (v3 with i= kept). */
  invite(): Promise<string>;
  /** The invite link for one of the bot's groups. */
  groupInvite(groupId: string): Promise<string>;
  /**
   * Run the bot's tick handler as the host's scheduler would for the slot `at` (ms since the
   * epoch): handleTick (plan, commit, apply), in turn with the mails (never two events at once).
   * Resolves when every mail it sent was accepted by SMTP. `bot.now()` stays the real clock.
   */
  tick(at: number): Promise<MailReport>;
  stop(): Promise<void>;
}

/** Options of startBotOnRelay. */
export interface BotOnRelayOptions {
  addr: string;
  name: string;
  /** The folder under templates/ to host (default "echo"). */
  template?: string;
  /** Replaces the template's bot.ts. */
  botSource?: string;
  /** Origins the operator approved for bot.fetch (default none), e.g. a local test server's. */
  origins?: string[];
  /**
   * Host-side fetch settings for every event (a local HTTPS server's CA, static host answers):
   * ExecutorOptions.fetchSettings, which never reach the runner. handle-mail.ts builds the
   * production policy (the approved origins, nothing else).
   */
  fetchSettings?: Pick<HostFetchSettings, "caPem" | "hosts">;
}

/** Host the bot from `templates/<template>` (or `botSource` as its bot.ts) as `addr` on `relay`. */
export async function startBotOnRelay(relay: TestRelay, options: BotOnRelayOptions): Promise<BotOnRelay> {
  const password = "bot-password-123";
  await relay.addUser(options.addr, password);
  await relay.routeToHost(options.addr);
  const work = mkdtempSync(join(tmpdir(), "bot-on-relay-"));
  const dir = join(work, "bot");
  cpSync(join(TEMPLATES, options.template ?? "echo"), dir, { recursive: true });
  if (options.botSource) await writeFile(join(dir, "bot.ts"), options.botSource);
  const local = await buildLocalBot(dir);
  const dataDir = join(work, "data");
  const account = await openBotAccount(dataDir, options.addr, options.name);
  const bot: HostedBot = {
    account,
    bundle: local.bundle,
    limits: local.limits,
    origins: options.origins ?? [],
    state: BotStateFile.forAccount(dataDir, options.addr),
  };
  // Behind the walls host serve uses on this machine, as on a relay.
  const executor = new Executor({ launcher: await hostLauncher(), ...(options.fetchSettings ? { fetchSettings: options.fetchSettings } : {}) });
  await executor.warmUp();
  const submitter: SmtpSubmitter = createSmtpSubmitter({
    host: "127.0.0.1",
    port: relay.submissionPort,
    secure: false,
    user: options.addr,
    password,
    allowSelfSigned: true,
  });
  const logs: LogRecord[] = [];
  const reports: MailReport[] = [];
  const done = new Set<string>();
  let stopped = false;
  let failure: unknown;
  // One event at a time, mails and ticks alike, as the host runs a bot: each sees the state the
  // one before saved.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work);
    turn = result.catch(() => undefined);
    return result;
  };

  // A Delta Chat wait that times out quotes what this host did last (diagnostics.ts).
  const removeDiagnostics = addDiagnostics(() => {
    const lines = logs.slice(-15).map((line) => JSON.stringify(line).slice(0, 300));
    const pending = (done.size - reports.length).toString();
    return `host ${options.addr}: ${reports.length} mails handled, ${pending} in hand; its last ${lines.length} log lines:\n${lines.join("\n")}`;
  });

  // The poll loop: one mail at a time, in arrival order (file names start with a timestamp).
  const loop = (async () => {
    while (!stopped) {
      const files = (await relay.capturedMails(options.addr)).filter((f) => !done.has(f)).sort();
      for (const file of files) {
        done.add(file);
        try {
          const raw = new Uint8Array(await readFile(file));
          reports.push(await inTurn(() => handleMail(bot, raw, { executor, submitter, log: (line) => logs.push(line), maxMailBytes: MAIL_MAX_BYTES })));
        } catch (error) {
          failure = error;
          logs.push({ event: "harness.error", message: String(error) });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  const linkFor = async (group?: { id: string; name: string }) => {
    const tokens = await account.tokens.forInvite(group?.id);
    return inviteLink({
      fingerprint: account.identity.fingerprint,
      addr: options.addr,
      name: options.name,
      invitenumber: tokens.invitenumber,
      auth: tokens.auth,
      ...(group ? { group } : {}),
    });
  };
  return {
    addr: options.addr,
    dataDir,
    account,
    bot,
    logs,
    reports,
    invite: () => linkFor(),
    groupInvite: async (groupId) => {
      const group = await account.groups.get(groupId);
      if (!group) throw new Error(`no group ${groupId}`);
      return linkFor({ id: group.id, name: group.name });
    },
    tick: (at) => inTurn(() => handleTick(bot, at, { executor, submitter, log: (line: HostEvent) => logs.push(line), maxMailBytes: MAIL_MAX_BYTES })),
    async stop() {
      removeDiagnostics();
      stopped = true;
      await loop;
      submitter.close();
      await executor.close();
      if (failure) throw failure;
    },
  };
}
