// Runner start time with and without the walls of issue 12 (not yet part of `make bench`, whose
// runner is not confined yet): `node -e 0`, and the real runner (lib/) until it says "ready" over
// IPC. Runs alternate plain / walled so machine load hits both alike; prints medians, judges nothing.
// Usage: npx vite-node test/bench/walls-start.ts [runs]
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { detectWalls } from "../../host/confine/detect-walls.js";
import { runnerProjectPaths } from "../../host/confine/runner-view.js";
import { confinedSpawn, type SpawnRecipe } from "../../host/confine/spawn-recipe.js";
import { DEFAULT_RUNNER_WALL_LIMITS } from "../../core/limits.js";
import { summarize } from "./stats.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const RUNNER = join(REPO, "lib", "host", "executor", "runner-process.js");
const runs = Number(process.argv[2] ?? 7);

/** Time from spawn to exit (ipc false) or to the first IPC message (ipc true), ms. */
function time(recipe: SpawnRecipe, ipc: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(recipe.command, recipe.args, {
      env: recipe.env,
      stdio: ipc ? ["ignore", "ignore", "inherit", "ipc"] : ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    if (ipc) {
      child.once("message", () => {
        resolve(performance.now() - start);
        child.kill("SIGKILL");
      });
      child.once("exit", (code) => reject(new Error(`runner exited ${code} before ready`)));
    } else child.once("exit", (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`exit ${code}`))));
  });
}

const detection = await detectWalls();
console.log(
  `walls up: ${detection.reports
    .filter((r) => r.up)
    .map((r) => r.layer)
    .join(", ")}`,
);
const work = mkdtempSync(join(tmpdir(), "walls-bench-"));
chmodSync(work, 0o755);
const walled = (nodeArgs: string[], script: string | null, readOnly: string[]) => {
  const dir = mkdtempSync(join(work, "r-"));
  chmodSync(dir, 0o755);
  const scratchDir = join(dir, "scratch");
  const rootDir = join(dir, "root");
  mkdirSync(scratchDir);
  mkdirSync(rootDir);
  if (detection.setup.identity.kind === "uid") chownSync(scratchDir, detection.setup.identity.uid, detection.setup.identity.gid);
  return confinedSpawn({
    walls: detection.setup,
    limits: DEFAULT_RUNNER_WALL_LIMITS,
    node: process.execPath,
    nodeArgs,
    script,
    scriptArgs: [],
    readOnly,
    scratchDir,
    rootDir,
  });
};
const env = { PATH: "/usr/bin:/bin" };
const cases: Array<{ name: string; plain: SpawnRecipe; walls: SpawnRecipe; ipc: boolean }> = [
  { name: "node -e 0", plain: { command: process.execPath, args: ["-e", "0"], env }, walls: walled(["-e", "0"], null, []), ipc: false },
];
if (existsSync(RUNNER)) {
  const nodeArgs = ["--max-old-space-size=256"];
  cases.push({
    name: "runner to ready",
    plain: { command: process.execPath, args: [...nodeArgs, RUNNER], env },
    walls: walled(nodeArgs, RUNNER, runnerProjectPaths(REPO)),
    ipc: true,
  });
}
try {
  for (const c of cases) {
    const plain: number[] = [];
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) {
      plain.push(await time(c.plain, c.ipc));
      walls.push(await time(c.walls, c.ipc));
    }
    const p = summarize(plain);
    const w = summarize(walls);
    console.log(
      `${c.name.padEnd(16)} plain median ${p.median.toFixed(0)} ms (min ${p.min.toFixed(0)})  walls median ${w.median.toFixed(0)} ms (min ${w.min.toFixed(0)})  +${(w.median - p.median).toFixed(0)} ms  (${runs} runs each)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
