// A host with one installed bot and the HostService that drains its spool, in-process: a real spool
// in a temp dir, the executor the test passes (a real sandbox, or one whose runner dies), a fake
// clock at the bot's install time, and an SMTP submitter of the test's choice (FakeSmtp by default).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Executor } from "../../host/executor/executor.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { HostEvent } from "../../host/service/host-event.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import type { BotIdentity } from "../../host/wire/pgp/identity.js";
import type { SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { FakeClock, FakeSmtp, botSettings, initHost, installBot, type BotSpec } from "./host-fixture.js";
import { userMail } from "./user-mail.js";

/** What the host is built with; everything but the executor has a default. */
export interface ServiceHostOptions extends Partial<BotSpec> {
  executor: Executor;
  /** Merged into host.json. */
  config?: Record<string, unknown>;
  /** The bot's SMTP submitter (default: a FakeSmtp, also returned as `smtp`). */
  submitter?: SmtpSubmitter;
  /** Who the mails are from (their key is learnt from the Autocrypt header). */
  sender: { addr: string; identity: BotIdentity };
}

/** Install a bot and build the service `host serve` would run for it. */
export async function serviceHost(options: ServiceHostOptions) {
  const work = mkdtempSync(join(tmpdir(), "service-host-"));
  const addr = options.addr ?? "bot@chat.test";
  const data = await initHost(work, options.config);
  await installBot(work, data, { addr, ...(options.source ? { source: options.source } : {}), ...(options.manifest ? { manifest: options.manifest } : {}) });
  const clock = new FakeClock((await botSettings(data, addr)).installedAt);
  const config = await loadHostConfig(hostPaths(data).config, data);
  const logs: HostEvent[] = [];
  const smtp = new FakeSmtp();
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
    submitterFor: () => options.submitter ?? smtp,
  });
  const botKey = (await service.bot(addr))!.bot.account.identity.publicKey;
  /** Spool one mail from the sender as a door does, dated by the fake clock; resolves with its spool entry. */
  const deliver = async (text: string) => {
    const mail = await userMail({
      from: options.sender.addr,
      to: addr,
      recipientKey: botKey,
      signer: options.sender.identity,
      body: { kind: "text", text },
      date: new Date(clock.now()),
    });
    return spool.write(addr, mail.raw, MAIL_MAX_BYTES);
  };
  return { work, data, addr, clock, logs, smtp, spool, service, deliver };
}
