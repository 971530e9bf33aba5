// The stores' file calls (host/spool/file-io.ts) behave the same through libuv's pool and as
// blocking calls (the pipeline process), failures included; and the blocking way really does not
// wait for the event loop (what saves the CPU: no hand-off to the pool and back).
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBlockingFileIo, mkdir, readdir, readFile, rename, stat, syncPath, truncate, unlink, writeAndSync } from "../../../host/spool/file-io.js";
import { JsonLog } from "../../../host/storage/json-log.js";
import { readJsonFile, writePrivateFile } from "../../../host/storage/json-file.js";
import { FILE_IO_WAYS, withFileIoWay } from "../../support/file-io-ways.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "file-io-"));
}

/** node's error code (ENOENT, EEXIST, …) a call rejects with; fails the test if it resolves. */
async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
  throw new Error("expected the call to fail");
}

/** Resolves after the current macrotask: what a call through libuv's pool needs at least. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe.each(FILE_IO_WAYS)("file-io through %s", (_way, blocking) => {
  withFileIoWay(blocking);

  it("the mode is what was asked", () => {
    expect(isBlockingFileIo()).toBe(blocking);
  });

  it("writeAndSync: w replaces, wx creates only (EEXIST otherwise), a appends; the mode is applied; each sync kind writes", async () => {
    const dir = tempDir();
    const file = join(dir, "f");
    await writeAndSync(file, "one", "wx", 0o600, "full");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await errorCode(writeAndSync(file, "two", "wx", 0o600, "full"))).toBe("EEXIST");
    expect(readFileSync(file, "utf8")).toBe("one");
    await writeAndSync(file, new TextEncoder().encode("two"), "w", 0o600, "none");
    await writeAndSync(file, "+three\n", "a", 0o600, "data");
    expect(readFileSync(file, "utf8")).toBe("two+three\n");
    expect(await errorCode(writeAndSync(join(dir, "missing", "f"), "x", "w", 0o600, "full"))).toBe("ENOENT");
  });

  it("a failing call rejects its promise (never throws where it is called), with node's error code", async () => {
    const dir = tempDir();
    const missing = join(dir, "missing");
    // Callers write `readFile(x).catch(...)`: a synchronous throw would escape that.
    const calls = [
      readFile(missing),
      readFile(missing, "utf8"),
      readdir(missing),
      stat(missing),
      rename(missing, join(dir, "b")),
      unlink(missing),
      truncate(missing, 0),
      syncPath(missing),
    ];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => (outcome.status === "rejected" ? (outcome.reason as NodeJS.ErrnoException).code : "resolved"))).toEqual(
      calls.map(() => "ENOENT"),
    );
  });

  it("readFile, readdir, stat, mkdir, rename, unlink, truncate and syncPath do what node's do", async () => {
    const dir = tempDir();
    expect(await mkdir(join(dir, "a", "b"), { recursive: true, mode: 0o700 })).toBe(join(dir, "a"));
    expect(await mkdir(join(dir, "a", "b"), { recursive: true, mode: 0o700 })).toBeUndefined();
    expect(statSync(join(dir, "a", "b")).mode & 0o777).toBe(0o700);
    writeFileSync(join(dir, "a", "x"), "hello");
    expect((await readFile(join(dir, "a", "x"))).toString()).toBe("hello");
    expect(await readFile(join(dir, "a", "x"), "utf8")).toBe("hello");
    expect((await readdir(join(dir, "a"))).sort()).toEqual(["b", "x"]);
    expect((await stat(join(dir, "a", "x"))).size).toBe(5);
    await truncate(join(dir, "a", "x"), 2);
    expect(readFileSync(join(dir, "a", "x"), "utf8")).toBe("he");
    await rename(join(dir, "a", "x"), join(dir, "a", "b", "y"));
    await syncPath(join(dir, "a", "b"));
    await syncPath(join(dir, "a", "b", "y"));
    expect(existsSync(join(dir, "a", "x"))).toBe(false);
    await unlink(join(dir, "a", "b", "y"));
    expect(existsSync(join(dir, "a", "b", "y"))).toBe(false);
  });

  it("the stores on top (json-file, json-log) read back what they wrote", async () => {
    const dir = tempDir();
    await writePrivateFile(join(dir, "deep", "state.json"), JSON.stringify({ a: 1 }));
    expect(await readJsonFile(join(dir, "deep", "state.json"), {})).toEqual({ a: 1 });
    expect(await readJsonFile(join(dir, "none.json"), { none: true })).toEqual({ none: true });
    for (const durable of [true, false]) {
      const log = new JsonLog<string[], string>(join(dir, `seen-${durable}.json`), { durable, compactEvery: 2 });
      expect(await log.read()).toEqual({ snapshot: undefined, lines: [] });
      await log.snapshot([]);
      await log.append("one");
      await log.append("two");
      expect(log.wantsSnapshot(true)).toBe(true);
      const again = new JsonLog<string[], string>(join(dir, `seen-${durable}.json`), { durable, compactEvery: 2 });
      expect(await again.read()).toEqual({ snapshot: [], lines: ["one", "two"] });
      await again.snapshot(["one", "two"]);
      expect(await new JsonLog<string[], string>(join(dir, `seen-${durable}.json`)).read()).toEqual({ snapshot: ["one", "two"], lines: [] });
    }
  });

  it(
    blocking
      ? "blocking: the file is written before the call returns, without a turn of the event loop"
      : "pool: the call waits for the event loop (the work is on libuv's pool)",
    async () => {
      const dir = tempDir();
      const file = join(dir, "f");
      let settled = false;
      const call = writeAndSync(file, "x", "wx", 0o600, "full").then(() => (settled = true));
      // Nothing but microtasks have run here.
      await Promise.resolve();
      await Promise.resolve();
      // (Through the pool the file may already exist here, made on a pool thread; the call cannot have settled.)
      if (blocking) expect(existsSync(file)).toBe(true);
      expect(settled).toBe(blocking);
      await nextTurn();
      await call;
      expect(readFileSync(file, "utf8")).toBe("x");
    },
  );
});
