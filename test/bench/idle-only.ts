// Only the idle phase of `make bench` (issue 15): `host serve` with 1 bot and with MANY, left idle.
// Run with: npx vite-node test/bench/idle-only.ts [MANY]   (after `make build`)
import { measureIdle } from "./idle-bench.js";

const result = await measureIdle(Number(process.argv[2] ?? 1000));
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
