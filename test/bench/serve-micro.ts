// A focused harness for `host serve`'s own cost per mail, without Postfix (pipeline-drain.ts):
// N encrypted mails spooled up front, drained into a fake SMTP that accepts after SMTP_DELAY_MS.
// Prints wall time and this process's CPU per mail (main thread + libuv pool).
// Run with: npx vite-node test/bench/serve-micro.ts [N] [SMTP_DELAY_MS]
//   MICRO_STATE_KEYS=K: a bot that also counts its mails in its state, which holds K more keys of
//   ~900 B each from the start (a bot with a big state writing one key per event).
//   MICRO_PROFILE=FILE writes a V8 CPU profile of the drain alone (chrome://inspect, or any .cpuprofile viewer).
import { measurePipelineDrain } from "./pipeline-drain.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const mails = Number(process.argv[2] ?? 300);
  const smtpDelayMs = Number(process.argv[3] ?? 3);
  const r = await measurePipelineDrain({
    mails,
    smtpDelayMs,
    stateKeys: Number(process.env.MICRO_STATE_KEYS ?? 0),
    ...(process.env.MICRO_PROFILE ? { profileFile: process.env.MICRO_PROFILE } : {}),
  });
  const ms = (x: number) => x.toFixed(2);
  process.stdout.write(
    `${mails} mails, SMTP ${smtpDelayMs} ms: wall ${ms(r.wallMsPerMail)} ms/mail (${(1000 / r.wallMsPerMail).toFixed(0)}/s); CPU ${ms(r.cpuMsPerMail)} ms/mail (user ${ms(r.userMsPerMail)}, sys ${ms(r.systemMsPerMail)}); states sent to the runner ${r.statesSent}\n`,
  );
}

runBench(main);
