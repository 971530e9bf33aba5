// Phase 12 of `make bench` alone: the runner walls' cost (start, echo event, bot switch).
// Usage: npx vite-node test/bench/walls-only.ts   (after `make build`)
import { wallsLines } from "./report.js";
import { buildBenchBots } from "./bots.js";
import { measureWalls } from "./walls-bench.js";
import { request } from "../support/sandbox.js";

const bots = await buildBenchBots(1024);
try {
  const walls = await measureWalls(request(bots.echo.bundle), "echo: hello", { starts: 5, blocks: 6, blockEvents: 200 });
  console.log(wallsLines(walls).join("\n"));
} finally {
  await bots.dispose();
}
