// Phase 1, the baseline: the echo bot as `node echo-cgi.cjs` per mail, timed from spawn to exit.
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { summarize, type SampleBudget, type Summary } from "./stats.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/echo-cgi.cjs", import.meta.url));

/** One mail through a fresh `node` process: its stdout and the wall time until it exited, ms. */
function runOnce(mail: Buffer): Promise<{ stdout: string; wallMs: number }> {
  const start = performance.now();
  // A minimal environment, like the runner gets: no NODE_OPTIONS or loaders from the bench's own process.
  const child = spawn(process.execPath, [SCRIPT], { stdio: ["pipe", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stdin.end(mail);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    // "close": the process exited and its stdout was read to the end.
    child.on("close", (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) reject(new Error(`echo-cgi.cjs exited with ${code}`));
      else resolve({ stdout: Buffer.concat(chunks).toString("utf8"), wallMs });
    });
  });
}

/** The baseline's timing and the reply text it produced (to check both sides echo the same). */
export interface BaselineResult {
  perMailMs: Summary;
  replyText: string;
}

/** Run the baseline on `mail` under the budget (sequentially: one mail at a time). */
export async function measureBaseline(mail: Buffer, budget: SampleBudget): Promise<BaselineResult> {
  let replyText = "";
  for (let i = 0; i < (budget.warmUp ?? 0); i++) await runOnce(mail);
  const samples: number[] = [];
  const stopAt = performance.now() + budget.maxMs;
  while (samples.length < budget.n && performance.now() < stopAt) {
    const { stdout, wallMs } = await runOnce(mail);
    samples.push(wallMs);
    replyText = (JSON.parse(stdout) as { actions: Array<{ text: string }> }).actions[0]?.text ?? "";
  }
  return { perMailMs: summarize(samples), replyText };
}
