// One `host serve` per data directory (host/service/data-dir-lock.ts): a kernel lock (flock) that
// dies with its process, and a record that names the holder only while that very process runs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { LOCK_FILE_NAME, lockDataDir, readHolder, startTicksOf, type DataDirLock } from "../../../host/service/data-dir-lock.js";
import { isChatbotError } from "../../../core/errors.js";

/** The compiled module (lib/), for a holder in another process. */
const LOCK_MODULE = fileURLToPath(new URL("../../../lib/host/service/data-dir-lock.js", import.meta.url));

const held: DataDirLock[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), "data-dir-lock-"));
}

async function lock(dir: string): Promise<DataDirLock> {
  const taken = await lockDataDir(dir);
  held.push(taken);
  return taken;
}

/** The error a refused lockDataDir throws. */
async function refusal(dir: string): Promise<Error> {
  try {
    held.push(await lockDataDir(dir));
  } catch (error) {
    expect(isChatbotError(error, "E_CONFIG")).toBe(true);
    return error as Error;
  }
  throw new Error("the lock was not refused");
}

/** A node process that takes the lock and prints "locked", then waits to be killed. */
async function holderProcess(dir: string): Promise<ChildProcess> {
  const script = `import(${JSON.stringify(LOCK_MODULE)}).then((m) => m.lockDataDir(${JSON.stringify(dir)})).then(() => { console.log("locked"); setInterval(() => {}, 1000); }, (e) => { console.error(e.message); process.exit(3); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
    child.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
  });
  return child;
}

describe("data directory lock", () => {
  it("lock: a second host serve on the same data directory is refused, naming the holder's pid and what to do", async () => {
    const dir = dataDir();
    await lock(dir);
    const error = await refusal(dir);
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toContain(join(dir, LOCK_FILE_NAME));
    expect(error.message).toMatch(/stop it first \(systemctl stop chatbot, or kill \d+\)/);
    expect(readHolder(join(dir, LOCK_FILE_NAME))).toMatchObject({ pid: process.pid, startTicks: startTicksOf(process.pid) });
  });

  it("lock: release lets the next one in; another data directory is independent", async () => {
    const dir = dataDir();
    (await lock(dir)).release();
    await lock(dir);
    await lock(dataDir());
  });

  it("lock: a holder killed with SIGKILL leaves no stale lock — the next serve takes it at once, without any pid check", async () => {
    const dir = dataDir();
    const child = await holderProcess(dir);
    expect((await refusal(dir)).message).toContain(`pid ${child.pid}`);
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await gone;
    await lock(dir);
  });

  it("lock: processes the holder starts later (sandbox runners) do not inherit it — released, it is free while they still run", async () => {
    const dir = dataDir();
    const first = await lock(dir);
    const runner = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(runner);
    first.release();
    await lock(dir);
  });

  it("lock: a record naming a pid that now belongs to another process (pid reuse: other start time) is not named as the holder", async () => {
    const dir = dataDir();
    await lock(dir);
    const file = join(dir, LOCK_FILE_NAME);
    const record = JSON.parse(readFileSync(file, "utf8")) as { startTicks: number };
    writeFileSync(file, JSON.stringify({ ...record, startTicks: record.startTicks + 1 }));
    const error = await refusal(dir);
    expect(error.message).not.toContain(`pid ${process.pid}`);
    expect(error.message).toContain("a process whose pid it has not written yet");
  });

  it("lock: without flock(1) the service does not start unlocked: E_CONFIG says what to install", async () => {
    const dir = dataDir();
    await expect(lockDataDir(dir, { flock: join(dir, "no-such-flock") })).rejects.toThrow(/flock\(1\), which is not installed: install util-linux/);
    await lock(dir); // and the failed attempt left nothing held
  });

  it("startTicksOf: this process has an integer start time; a pid above pid_max has none", () => {
    expect(Number.isInteger(startTicksOf(process.pid))).toBe(true);
    expect(startTicksOf(Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1)).toBeUndefined();
  });
});
