// A host with installed bots (one by default) and the HostService that drains its spool,
// in-process: a real spool in a temp dir, the executor the test passes (a real sandbox, or one
// whose runner dies), a fake clock at the first bot's install time, and an SMTP submitter of the
// test's choice (by default a FakeSmtp per bot).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Executor } from "../../host/executor/executor.js";
import { MAIL_MAX_BYTES, type LoadedBotsLimits } from "../../core/limits.js";
import type { HostEvent } from "../../host/service/host-event.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import type { BotIdentity } from "../../host/wire/pgp/identity.js";
import type { SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import type { PublicKey } from "openpgp";
import { FakeClock, FakeSmtp, botSettings, initHost, installBot, type BotSpec } from "./host-fixture.js";
import { userMail } from "./user-mail.js";

/** What the host is built with; everything but the executor has a default. */
export interface ServiceHostOptions extends Partial<BotSpec> {
  executor: Executor;
  /** Merged into host.json. */
  config?: Record<string, unknown>;
  /** Every bot's SMTP submitter (default: a FakeSmtp per bot, `smtpOf(addr)`; the first bot's is also `smtp`). */
  submitter?: SmtpSubmitter;
  /** More bots, installed like the first (`addr`) from the same source and manifest. */
  moreAddrs?: readonly string[];
  /** How many bots stay loaded (the service's LOADED_BOTS by default). */
  loadedBots?: Readonly<LoadedBotsLimits>;
  /** Who the mails are from (their key is learnt from the Autocrypt header). */
  sender: { addr: string; identity: BotIdentity };
}

/** Install the bots and build the service `host serve` would run for them. */
export async function serviceHost(options: ServiceHostOptions) {
  const work = mkdtempSync(join(tmpdir(), "service-host-"));
  const addr = options.addr ?? "bot@chat.test";
  const data = await initHost(work, options.config);
  for (const each of [addr, ...(options.moreAddrs ?? [])]) {
    await installBot(work, data, {
      addr: each,
      ...(options.source ? { source: options.source } : {}),
      ...(options.manifest ? { manifest: options.manifest } : {}),
    });
  }
  const clock = new FakeClock((await botSettings(data, addr)).installedAt);
  const config = await loadHostConfig(hostPaths(data).config, data);
  const logs: HostEvent[] = [];
  const smtps = new Map<string, FakeSmtp>();
  const smtpOf = (bot: string) => smtps.get(bot) ?? smtps.set(bot, new FakeSmtp()).get(bot)!;
  const spool = new Spool(hostPaths(data).spool, clock);
  // sleep: a fake clock must not make the pacer wait in real time.
  const service = new HostService({
    sleep: async () => {},
    dataDir: data,
    config,
    spool,
    executor: options.executor,
    clock,
    log: (line) => logs.push(line),
    ...(options.loadedBots ? { loadedBots: options.loadedBots } : {}),
    submitterFor: (bot) => options.submitter ?? smtpOf(bot.account.addr),
  });
  const botKeys = new Map<string, PublicKey>();
  /** One mail from the sender to `to` (the first bot by default), dated by the fake clock. */
  const mail = async (text: string, to = addr) => {
    const recipientKey = botKeys.get(to) ?? botKeys.set(to, (await service.bot(to))!.bot.account.identity.publicKey).get(to)!;
    const body = { kind: "text" as const, text };
    return userMail({ from: options.sender.addr, to, recipientKey, signer: options.sender.identity, body, date: new Date(clock.now()) });
  };
  /** Spool one mail from the sender as a door does; resolves with its spool entry. */
  const deliver = async (text: string, to = addr) => spool.write(to, (await mail(text, to)).raw, MAIL_MAX_BYTES);
  return { work, data, addr, clock, logs, smtp: smtpOf(addr), smtpOf, spool, service, mail, deliver };
}
