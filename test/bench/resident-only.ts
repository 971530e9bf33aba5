// Only the last phase of `make bench`: the host beside a resident Delta Chat bot on the test relay
// (resident-bench.ts). Prints JSON, then the readable table.
// Run with: npx vite-node test/bench/resident-only.ts [N]   (after `make build`; root and the relay; N echoes to each, default 30)
import "./production-env.js";
import { loadavg } from "node:os";
import { measureResidentVsHost } from "./resident-bench.js";
import { residentLines } from "./report.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  const echoes = Number(process.argv[2] ?? 30);
  if (!Number.isInteger(echoes) || echoes < 1) throw new Error(`N must be a positive whole number, not ${process.argv[2]}`);
  const load = loadavg();
  const result = await measureResidentVsHost(echoes, (text) => process.stderr.write(`${text}\n`));
  const loadEnd = loadavg();
  const two = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  process.stdout.write(`${JSON.stringify({ load, loadEnd, result }, null, 2)}\n`);
  process.stdout.write(`load ${two(load)} → ${two(loadEnd)}\n${residentLines(result).join("\n")}\n`);
  // The host's RSS per bot with many bots needs the idle phase's 10 000-bot host (two minutes): not rerun here.
  process.stdout.write("    (host RSS per bot with many bots: `npx vite-node test/bench/idle-only.ts`, or section 13 of `make bench`)\n");
}

runBench(main, "bench failed: ");
