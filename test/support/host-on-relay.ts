// Test support: `chatbot host serve` in this process on the test relay — its own data dir with the
// bots installed as an operator does it, the spool, the LMTP socket Postfix delivers the bots' mail
// to, the HostService draining it with a FAKE clock (tests move time by hours without sleeping),
// and every log line kept. Needs root (the socket's group is postfix) and `make relay-deps`.
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Executor } from "../../host/executor/executor.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { HostEvent } from "../../host/service/host-event.js";
import type { LogRecord } from "../../host/service/log-lines.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { startLmtpServer, type LmtpServer } from "../../host/service/lmtp-server.js";
import { hostPaths, isInstalledBot } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import { createSmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { FakeClock, botSettings, initHost, installBot, type BotSpec } from "./host-fixture.js";
import type { TestRelay } from "./relay.js";

/** The password of every bot account a RunningHost installs. */
export const HOST_BOT_PASSWORD = "bot-password-123";

/** The numeric id of a group from /etc/group. */
function gid(name: string): number {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no group ${name}`);
  return Number(line.split(":")[2]);
}

/** A host service in this process: its own data dir, spool, LMTP socket, fake clock and log. */
export interface RunningHost {
  data: string;
  clock: FakeClock;
  spool: Spool;
  service: HostService;
  /** Every event the host logged, read like lines of its log (any field by name). */
  logs: LogRecord[];
  stop(): Promise<void>;
}

/** Install `bots` (accounts on `relay`, their mail routed to this host's LMTP socket), then serve with `config` merged into host.json. */
export async function startHostOnRelay(relay: TestRelay, executor: Executor, config: Record<string, unknown>, bots: BotSpec[]): Promise<RunningHost> {
  const work = mkdtempSync(join(tmpdir(), "host-on-relay-"));
  chmodSync(work, 0o755); // Postfix's lmtp client must reach the socket inside
  const data = await initHost(work, config, ["--smtp-port", String(relay.submissionPort)]);
  for (const bot of bots) {
    await installBot(work, data, bot, HOST_BOT_PASSWORD);
    await relay.addUser(bot.addr, HOST_BOT_PASSWORD);
  }
  const installed = await Promise.all(bots.map(async (bot) => (await botSettings(data, bot.addr)).installedAt));
  const clock = new FakeClock(Math.max(...installed));
  const hostConfig = await loadHostConfig(hostPaths(data).config, data);
  const spool = new Spool(hostPaths(data).spool, clock);
  const logs: LogRecord[] = [];
  const log = (event: HostEvent) => void logs.push(event);
  const service = new HostService({
    sleep: async () => {}, // fake clock: the pacer must not wait in real time
    dataDir: data,
    config: hostConfig,
    spool,
    executor,
    clock,
    log,
    submitterFor: (bot) => createSmtpSubmitter({ ...hostConfig.smtp, user: bot.account.addr, password: bot.password }),
  });
  const socketPath = join(work, "lmtp.sock");
  const lmtp: LmtpServer = await startLmtpServer({
    socketPath,
    spool,
    isBot: (addr) => isInstalledBot(data, addr),
    maxBytes: MAIL_MAX_BYTES,
    log,
    onSpooled: () => service.poke(),
    socketGroup: gid("postfix"),
  });
  for (const bot of bots) await relay.routeToLmtp(bot.addr, socketPath);
  service.start(50);
  return {
    data,
    clock,
    spool,
    service,
    logs,
    async stop() {
      await lmtp.close();
      await service.stop();
    },
  };
}
