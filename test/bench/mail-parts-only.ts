// The per-part CPU budget of one echo alone (make bench's "CPU per echo of real-core mail" phase):
// synthetic mail and real-core mail side by side. PARTS_PROFILE="real-core: inner=FILE" writes a
// CPU profile of one part (cpu-per-call.ts).
// Run with: npx vite-node test/bench/mail-parts-only.ts [N]   (after `make build`: the runner is lib/…)
import "./production-env.js";
import { Executor } from "../../host/executor/executor.js";
import { measureMailParts } from "./mail-parts.js";
import { mailPartsLines } from "./report.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const executor = new Executor({ concurrency: 1 });
  try {
    await executor.warmUp();
    const synthetic = await measureMailParts("synthetic", n, executor);
    const realCore = await measureMailParts("real-core", n, executor);
    process.stdout.write(`${mailPartsLines({ synthetic, realCore }).join("\n")}\n`);
  } finally {
    await executor.close();
  }
}

runBench(main);
