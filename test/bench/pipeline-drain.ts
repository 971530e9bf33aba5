// `host serve`'s pipeline in this process, without Postfix: a real spool, a real Executor and a
// bot installed like an operator does, `mails` encrypted mails spooled up front, then the service
// drains them into a fake SMTP that accepts after `smtpDelayMs` (a relay's round trip). Measures
// wall time and this process's CPU per mail (main thread + libuv pool; the runner's own CPU is not
// in it). With `stateKeys` the bot also counts its mails in its state, which holds that many more
// keys of ~900 B each from the start: a bot with a big state writing one key per event (what found
// the spool journal writing the whole state: plan-journal.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { Executor } from "../../host/executor/executor.js";
import { BotStateFile } from "../../host/service/bot-state-file.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import type { OutgoingMail } from "../../host/wire/bot-message.js";
import type { SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { burstSettings } from "./part-bench-service.js";

/** Echoes and counts its mails in its state: one key written per event. */
const COUNTING_BOT = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    await bot.state.set("count", ((await bot.state.get<number>("count")) ?? 0) + 1);
    await bot.reply("echo: " + msg.text);
  },
});
`;

export interface DrainOptions {
  mails: number;
  /** The fake SMTP's delay per mail, ms. */
  smtpDelayMs?: number;
  /** 0: the echo template; more: the counting bot with that many more keys of ~900 B in its state. */
  stateKeys?: number;
  /** A V8 CPU profile of the drain alone is written here. */
  profileFile?: string;
}

export interface DrainResult {
  mails: number;
  stateKeys: number;
  wallMsPerMail: number;
  /** This process's CPU per mail (user + system), ms. */
  cpuMsPerMail: number;
  userMsPerMail: number;
  systemMsPerMail: number;
  /** Events whose request carried the state (the runner did not hold it). */
  statesSent: number;
}

/** `keys` entries of ~900 B of JSON each (section 17's state, through the Executor and through the pipeline). */
export function bigState(keys: number): Record<string, string> {
  const state: Record<string, string> = {};
  for (let i = 0; i < keys; i++) state[`key${i}`] = JSON.stringify("x".repeat(900));
  return state;
}

export async function measurePipelineDrain(options: DrainOptions): Promise<DrainResult> {
  const { mails, smtpDelayMs = 3, stateKeys = 0 } = options;
  const work = mkdtempSync(join(tmpdir(), "pipeline-drain-"));
  const executor = new Executor({ concurrency: 1 });
  try {
    const data = await initHost(work, burstSettings());
    const addr = "echo@chat.test";
    await installBot(work, data, stateKeys > 0 ? { addr, source: COUNTING_BOT } : { addr });
    if (stateKeys > 0) await new BotStateFile(join(hostPaths(data).bot(addr).dir, "state.json")).save(bigState(stateKeys));
    const config = await loadHostConfig(hostPaths(data).config, data);
    const clock = { now: () => Date.now() };
    const spool = new Spool(hostPaths(data).spool, clock);
    let accepted = 0;
    const smtp: SmtpSubmitter = {
      submit: async (_mail: OutgoingMail) => {
        await new Promise((resolve) => setTimeout(resolve, smtpDelayMs));
        accepted += 1;
      },
      close: () => {},
    };
    const service = new HostService({ dataDir: data, config, spool, executor, clock, log: () => {}, submitterFor: () => smtp });
    const botKey = (await service.bot(addr))!.bot.account.identity.publicKey;
    const alice = await newIdentity("alice@chat.test");
    for (let i = 0; i < mails; i++) {
      const { raw } = await userMail({ from: "alice@chat.test", to: addr, recipientKey: botKey, signer: alice, body: { kind: "text", text: `bench ${i}` } });
      await spool.write(addr, raw, MAIL_MAX_BYTES);
    }
    await executor.warmUp();
    const session = options.profileFile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while ((await spool.all()).length > 0) await service.drainOnce();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (session) await writeFile(options.profileFile!, JSON.stringify((await session.post("Profiler.stop")).profile));
    await service.stop();
    if (accepted !== mails) throw new Error(`the fake SMTP accepted ${accepted} of ${mails} replies`);
    return {
      mails,
      stateKeys,
      wallMsPerMail: wallMs / mails,
      cpuMsPerMail: (cpu.user + cpu.system) / 1000 / mails,
      userMsPerMail: cpu.user / 1000 / mails,
      systemMsPerMail: cpu.system / 1000 / mails,
      statesSent: executor.stats.statesSent,
    };
  } finally {
    await executor.close();
    rmSync(work, { recursive: true, force: true });
  }
}
