// The runner's walls, tried for real: a probe program runs under exactly the recipe that starts
// runners (confinedSpawn) and tries to read a bot's key, reach mail ports and a listening loopback
// port, fork, allocate past the address-space cap, write outside its scratch dir and look at the
// data dir. The same probe without the recipe must succeed at each, or the test proves nothing.
// A layer that detectWalls reports down here is skipped (and named), never faked.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectWalls, type WallDetection } from "../../../host/confine/detect-walls.js";
import { runnerProjectPaths } from "../../../host/confine/runner-view.js";
import { confinedSpawn, type ConfinePlan, type SpawnRecipe } from "../../../host/confine/spawn-recipe.js";
import { readFrames } from "../../../host/executor/message-frames.js";
import { DEFAULT_RUNNER_WALL_LIMITS as LIMITS } from "../../../core/limits.js";

const PROBE = fileURLToPath(new URL("./probe.cjs", import.meta.url));
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const GiB = 2 ** 30;
/**
 * As root, this file's runners run as a uid of their own (unused, like a runner slot's), so the
 * task cap counts only them and not host doctor's tries running as the runner user at the same time.
 */
const RUN_AS = { uid: 64_000 + (process.pid % 1000), gid: 64_000 + (process.pid % 1000) };
/** A file in the real /tmp (writable by everyone) the probe tries to create. */
const TMP_FILE = `/tmp/chatbot-probe-escaped-${process.pid}`;

interface Attempt {
  ok: boolean;
  error?: string;
}
interface ProbeReport {
  uid: number;
  dataDirVisible: boolean;
  readSecret: Attempt;
  writeOutside: Attempt;
  writeTmp: Attempt;
  writeScratch: Attempt;
  connect: Array<Attempt & { port: number }>;
  fork: { tried: number; up: number; forkErrors: string[] };
  allocate: { target: number; bytes: number; error: string | null };
}

/** Run a recipe to its end; its stdout's JSON line. */
function runProbe(recipe: SpawnRecipe, cwd: string): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(recipe.command, recipe.args, { env: recipe.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as ProbeReport);
      } catch {
        reject(new Error(`probe exited ${code} without a report: ${out}\n${err}`));
      }
    });
  });
}

let detection: WallDetection;
let work: string;
let dataDir: string;
let secretFile: string;
let outsideFile: string;
let listener: Server;
let listenPort: number;
const up = (layer: string) => detection.reports.find((r) => r.layer === layer)?.up === true;

/** A plan for `script` in fresh scratch and root folders, as the executor will make one per runner. */
function plan(script: string | null, nodeArgs: string[], scriptArgs: string[], readOnly: string[] = []): ConfinePlan {
  const dir = mkdtempSync(join(work, "runner-"));
  chmodSync(dir, 0o755);
  const scratchDir = join(dir, "scratch");
  const rootDir = join(dir, "root");
  mkdirSync(scratchDir);
  mkdirSync(rootDir);
  if (detection.setup.identity.kind === "uid") chownSync(scratchDir, RUN_AS.uid, RUN_AS.gid);
  return { walls: detection.setup, limits: LIMITS, node: process.execPath, nodeArgs, script, scriptArgs, readOnly, scratchDir, rootDir, runAs: RUN_AS };
}

beforeAll(async () => {
  detection = await detectWalls();
  work = mkdtempSync(join(tmpdir(), "confine-probe-"));
  chmodSync(work, 0o755);
  // A data dir like the host's: a bot's key, readable only by its owner.
  dataDir = join(work, "data");
  mkdirSync(join(dataDir, "bots", "echobot01@chat.test"), { recursive: true, mode: 0o700 });
  secretFile = join(dataDir, "bots", "echobot01@chat.test", "key.asc");
  writeFileSync(secretFile, "-----BEGIN PGP PRIVATE KEY BLOCK-----\nsecret\n", { mode: 0o600 });
  // A folder anyone may write to, so only the filesystem wall can stop the write.
  mkdirSync(join(work, "open"), { mode: 0o777 });
  chmodSync(join(work, "open"), 0o777);
  outsideFile = join(work, "open", "escaped");
  listener = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  listenPort = (listener.address() as { port: number }).port;
  const exercised = detection.reports.map((r) => `${r.layer} ${r.up ? "EXERCISED" : `SKIPPED (down: ${r.why})`}`);
  console.log(`confine-probe: layers\n  ${exercised.join("\n  ")}`);
}, 120_000);

afterAll(() => {
  listener?.close();
  rmSync(TMP_FILE, { force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("runner walls: a probe under the runner's spawn recipe", () => {
  /** The probe's settings: what to attack, and how far to push. */
  const config = (forkChildren: number) =>
    JSON.stringify({
      dataDir,
      secretFile,
      outsideFile,
      tmpFile: TMP_FILE,
      ports: [25, 587, 143, listenPort],
      forkChildren,
      forkWaitMs: 2500,
      allocateBytes: LIMITS.addressSpaceBytes + GiB,
    });

  it("without the recipe the probe reads the key, reaches the test's port, forks, allocates and writes (so the test can fail)", async () => {
    const dir = mkdtempSync(join(work, "plain-"));
    const report = await runProbe({ command: process.execPath, args: [PROBE, config(3)], env: { PATH: "/usr/bin:/bin" } }, dir);
    expect(report.dataDirVisible).toBe(true);
    if (process.getuid?.() === 0) expect(report.readSecret.ok).toBe(true);
    expect(report.writeOutside.ok).toBe(true);
    expect(report.writeScratch.ok).toBe(true);
    expect(report.connect.find((c) => c.port === listenPort)).toMatchObject({ ok: true });
    expect(report.fork).toMatchObject({ tried: 3, up: 3, forkErrors: [] });
    expect(report.allocate.bytes).toBeGreaterThanOrEqual(LIMITS.addressSpaceBytes + GiB);
    rmSync(outsideFile, { force: true });
    rmSync(TMP_FILE, { force: true });
  });

  it("under the recipe the probe cannot read a bot's key.asc, see the data dir, connect, fork, allocate past the cap or write outside its scratch dir", async () => {
    expect(detection.combined).toMatchObject({ ok: true });
    const confined = plan(PROBE, [], [config(LIMITS.tasks)]);
    const report = await runProbe(confinedSpawn(confined), confined.scratchDir);
    console.log(`confine-probe: confined report ${JSON.stringify(report)}`);
    expect(report.writeScratch.ok).toBe(true);
    if (up("filesystem")) {
      expect(report.dataDirVisible).toBe(false);
      expect(report.readSecret).toMatchObject({ ok: false, error: "ENOENT" });
      expect(report.writeOutside.ok).toBe(false);
      expect(report.writeTmp.ok).toBe(false);
      expect(existsSync(outsideFile)).toBe(false);
      expect(existsSync(TMP_FILE)).toBe(false);
      expect(readdirSync(confined.scratchDir)).toEqual(["scratch-file"]);
    } else if (up("identity")) {
      expect(report.readSecret.ok).toBe(false);
    }
    if (up("identity") && detection.setup.identity.kind === "uid") expect(report.uid).toBe(RUN_AS.uid);
    if (up("network")) {
      expect(report.connect.map((c) => c.port)).toEqual([25, 587, 143, listenPort]);
      for (const attempt of report.connect) expect(attempt).toMatchObject({ ok: false, error: "ENETUNREACH" });
    }
    if (up("resources")) {
      expect(report.fork.up).toBeLessThan(report.fork.tried);
      expect(report.fork.forkErrors).toContain("EAGAIN");
      expect(report.allocate.bytes).toBeLessThan(LIMITS.addressSpaceBytes);
      expect(report.allocate.error).toMatch(/allocation failed/i);
    }
  });

  it("a scratch dir with a space in its name works under the recipe (the fstab escapes it)", () => {
    if (!up("filesystem")) return;
    const confined = plan(null, ["-e", "require('fs').writeFileSync('out', process.cwd())"], []);
    const scratchDir = join(confined.scratchDir, "..", "scratch dir");
    mkdirSync(scratchDir);
    if (detection.setup.identity.kind === "uid") chownSync(scratchDir, RUN_AS.uid, RUN_AS.gid);
    const recipe = confinedSpawn({ ...confined, scratchDir });
    const result = spawnSync(recipe.command, recipe.args, { env: recipe.env, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(readFileSync(join(scratchDir, "out"), "utf8")).toBe(scratchDir);
  });

  it("the runner itself (lib/host/executor/runner-process.js) starts under the recipe and says ready on its channel", async () => {
    const runner = join(REPO, "lib", "host", "executor", "runner-process.js");
    expect(existsSync(runner), `${runner} is missing: run make build first`).toBe(true);
    const confined = plan(runner, ["--max-old-space-size=256"], [], runnerProjectPaths(REPO));
    const recipe = confinedSpawn(confined);
    // fds 3 and 4 are the channel (message-frames.ts), inherited through every step of the recipe.
    const child = spawn(recipe.command, recipe.args, { env: recipe.env, stdio: ["ignore", "inherit", "pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const first = await new Promise<unknown>((resolve, reject) => {
        readFrames(child.stdio[4] as Readable, { maxBytes: () => 1024, onMessage: resolve, onError: (why) => reject(new Error(why)) });
        child.once("exit", (code, signal) => reject(new Error(`runner exited (${code ?? signal}) before ready: ${stderr}`)));
      });
      expect(first).toMatchObject({ type: "ready" });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a runner dies with the host: SIGKILL to the host leaves no runner behind", async (context) => {
    if (!up("lifetime")) return context.skip();
    const marker = `chatbot-lifetime-${process.pid}-${Date.now()}`;
    const recipe = confinedSpawn(plan(null, ["-e", "setInterval(() => {}, 1000)"], [marker]));
    // A stand-in host: starts the runner, prints its pid, then waits to be killed.
    const host = spawn(
      process.execPath,
      [
        "-e",
        "const r=JSON.parse(process.argv[1]);const c=require('child_process').spawn(r.command,r.args,{env:r.env,stdio:'ignore'});console.log(c.pid);setInterval(()=>{},1000)",
        JSON.stringify(recipe),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const runnerPid = Number(await new Promise<string>((resolve) => host.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()))));
    const cmdline = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        return "";
      }
    };
    const withMarker = () => readdirSync("/proc").filter((pid) => /^\d+$/.test(pid) && cmdline(pid).includes(marker));
    // Wait for the runner's node itself (not only the host or unshare, whose arguments name the marker too).
    const isRunner = (pid: string) => cmdline(pid).startsWith(`${process.execPath}\0-e\0setInterval`);
    for (let i = 0; i < 200 && !withMarker().some(isRunner); i++) await new Promise((r) => setTimeout(r, 100));
    expect(withMarker().some(isRunner)).toBe(true);
    host.kill("SIGKILL");
    for (let i = 0; i < 100 && withMarker().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(withMarker().map((pid) => cmdline(pid).replaceAll("\0", " ").slice(0, 80))).toEqual([]);
    expect(existsSync(`/proc/${runnerPid}/cmdline`) && readFileSync(`/proc/${runnerPid}/cmdline`, "utf8") !== "").toBe(false);
  });
});
