// Phase 4: `chatbot host deliver` per mail (the pipe door, spawn → durably spooled → exit) against a
// bare `node -e 0` on the same machine in the same run. Runs alternate, so drift in the machine's
// load hits both sides alike. DESIGN §2: a delivery must cost little more than starting node.
// Measured as the Postfix pipe command runs it — the one-file bundle lib/deliver.cjs — and, for
// comparison, through the `chatbot` binary (lib/host/cli/main.js, its ES module graph).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { summarize, type SampleBudget, type Summary } from "./stats.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../../lib/deliver.cjs", import.meta.url));
const BOT = "bench-bot@chat.test";

/** Wall time of one process from spawn to exit with `input` on stdin, ms; rejects unless it exits 0. */
function timeProcess(args: string[], input: Buffer): Promise<number> {
  const start = performance.now();
  // A minimal environment, like pipe(8) gives: no NODE_OPTIONS or loaders from the bench's own process.
  const child = spawn(process.execPath, args, { stdio: ["pipe", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  const err: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) reject(new Error(`${args.join(" ")} exited with ${code}: ${Buffer.concat(err).toString()}`));
      else resolve(wallMs);
    });
  });
}

/** The deliver phase's result: each side's wall times and the ratios of medians. */
export interface DeliverResult {
  /** `node lib/deliver.cjs ADDR …`: the bundle the Postfix pipe command runs. */
  deliverMs: Summary;
  /** `node lib/host/cli/main.js host deliver ADDR …`: the same command through the CLI's module graph. */
  cliMs: Summary;
  nodeMs: Summary;
  /** deliver (bundle) median / `node -e 0` median: the target's ratio. */
  ratio: number;
  /** CLI median / `node -e 0` median. */
  cliRatio: number;
}

/** Time `host deliver` of `mail` into a throw-away data dir against `node -e 0`, alternating, under the budget. */
export async function measureDeliver(mail: Buffer, budget: SampleBudget): Promise<DeliverResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-deliver-"));
  mkdirSync(join(dataDir, "bots", BOT), { recursive: true });
  writeFileSync(join(dataDir, "bots", BOT, "bot.json"), "{}");
  const deliver = () => timeProcess([BUNDLE, BOT, "--data-dir", dataDir], mail);
  const cli = () => timeProcess([CLI, "host", "deliver", BOT, "--data-dir", dataDir], mail);
  const bare = () => timeProcess(["-e", "0"], Buffer.alloc(0));
  try {
    for (let i = 0; i < (budget.warmUp ?? 0); i++) {
      await deliver();
      await cli();
      await bare();
    }
    const deliverSamples: number[] = [];
    const cliSamples: number[] = [];
    const nodeSamples: number[] = [];
    const stopAt = performance.now() + budget.maxMs;
    while (deliverSamples.length < budget.n && performance.now() < stopAt) {
      deliverSamples.push(await deliver());
      nodeSamples.push(await bare());
      cliSamples.push(await cli());
    }
    const deliverMs = summarize(deliverSamples);
    const cliMs = summarize(cliSamples);
    const nodeMs = summarize(nodeSamples);
    return { deliverMs, cliMs, nodeMs, ratio: deliverMs.median / nodeMs.median, cliRatio: cliMs.median / nodeMs.median };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
