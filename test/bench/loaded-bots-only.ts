// Section 16 of `make bench` alone: the pipeline's loaded bots (loaded-bots-bench.ts), each way
// twice, interleaved.
// Run with: npx vite-node test/bench/loaded-bots-only.ts [BOTS]   (after `make build`)
import { measureLoadedBots } from "./loaded-bots-bench.js";
import { loadedBotsLines } from "./report.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const bots = Number(process.argv[2] ?? 300);
  process.stdout.write(`${loadedBotsLines(await measureLoadedBots(bots, 2)).join("\n")}\n`);
}

runBench(main);
