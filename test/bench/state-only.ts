// Section 17 of `make bench` alone: a bot's state held by its runner (state-bench.ts).
// Run with: npx vite-node test/bench/state-only.ts [KEYS] [EVENTS]   (after `make build`)
import { measureStateCache } from "./state-bench.js";
import { stateLines } from "./report.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const [keys, events] = process.argv.slice(2).map(Number);
  process.stdout.write(`${stateLines(await measureStateCache(keys || 1000, events || 200)).join("\n")}\n`);
}

runBench(main);
