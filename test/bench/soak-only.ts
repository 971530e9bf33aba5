// Only the RSS soak of `make bench` (section 11, issue 15 part 4): the runner's RSS after 10 000 events against after 100.
// Run with: npx vite-node test/bench/soak-only.ts [EVENTS]   (after `make build`)
import "./production-env.js";
import { measureRssSoak } from "./rss-soak.js";
import { rssSoakLines } from "./report.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? 9_900);
  if (!Number.isInteger(events) || events < 1) throw new Error(`EVENTS must be a positive whole number, not ${process.argv[2]}`);
  const soak = await measureRssSoak({ events, maxMs: 120_000, sampleEvery: 500, warmUp: 100 });
  process.stdout.write(`${rssSoakLines(soak).join("\n")}\n`);
}

runBench(main, "bench failed: ");
