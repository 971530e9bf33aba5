// A focused harness for `host serve`'s own cost per mail, without Postfix: a real spool, a real
// Executor and the echo bot installed like an operator does, N encrypted mails spooled up front,
// then the service drains them into a fake SMTP that accepts after SMTP_DELAY_MS (a relay's
// round trip). Prints wall time and this process's CPU per mail (main thread + libuv pool).
// Run with: npx vite-node test/bench/serve-micro.ts [N] [SMTP_DELAY_MS]
//   MICRO_STATE_KEYS=K: a bot that also counts its mails in its state, which holds K more keys of
//   ~900 B each from the start (a bot with a big state writing one key per event).
//   MICRO_PROFILE=FILE writes a V8 CPU profile of the drain alone (chrome://inspect, or any .cpuprofile viewer).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { performance } from "node:perf_hooks";
import { Executor } from "../../host/executor/executor.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";
import { BotStateFile } from "../../host/service/bot-state-file.js";
import type { OutgoingMail } from "../../host/wire/bot-message.js";
import type { SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { runBench } from "./run-bench.js";
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

/** `keys` entries of ~900 B of JSON each. */
function bigState(keys: number): Record<string, string> {
  const state: Record<string, string> = {};
  for (let i = 0; i < keys; i++) state[`key-${i}`] = JSON.stringify({ i, text: "x".repeat(880) });
  return state;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 300);
  const smtpDelayMs = Number(process.argv[3] ?? 3);
  const work = mkdtempSync(join(tmpdir(), "serve-micro-"));
  const executor = new Executor({ concurrency: 1 });
  try {
    const data = await initHost(work, burstSettings());
    const addr = "echo@chat.test";
    const stateKeys = Number(process.env.MICRO_STATE_KEYS ?? 0);
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
    for (let i = 0; i < n; i++) {
      const { raw } = await userMail({ from: "alice@chat.test", to: addr, recipientKey: botKey, signer: alice, body: { kind: "text", text: `bench ${i}` } });
      await spool.write(addr, raw, MAIL_MAX_BYTES);
    }
    await executor.warmUp();
    // MICRO_PROFILE=FILE: a V8 CPU profile of the drain alone.
    const session = process.env.MICRO_PROFILE ? new Session() : undefined;
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
    if (session) await writeFile(process.env.MICRO_PROFILE!, JSON.stringify((await session.post("Profiler.stop")).profile));
    await service.stop();
    if (accepted !== n) throw new Error(`accepted ${accepted} of ${n}`);
    const perMail = (x: number) => (x / n).toFixed(2);
    process.stdout.write(
      `${n} mails, SMTP ${smtpDelayMs} ms: wall ${perMail(wallMs)} ms/mail (${((n / wallMs) * 1000).toFixed(0)}/s); CPU ${perMail((cpu.user + cpu.system) / 1000)} ms/mail (user ${perMail(cpu.user / 1000)}, sys ${perMail(cpu.system / 1000)}); states sent to the runner ${executor.stats.statesSent}\n`,
    );
  } finally {
    await executor.close();
    rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
