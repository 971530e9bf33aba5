// Every durable file of the host (spool entries, state.json, bot.json, ticks, the stores, host.json)
// is renamed into place by ONE helper that fsyncs the folder afterwards (host/spool/durable-fs.ts):
// a rename that only sits in the page cache can be undone by a power cut, bringing the old file back
// after the host reported the new one. The first test reads host/ and fails on any other rename.
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { mkdirDurable, renameDurable } from "../../../host/spool/durable-fs.js";
import { writeJsonFile, writePrivateFile } from "../../../host/storage/json-file.js";

const HOST = fileURLToPath(new URL("../../../host/", import.meta.url));
/** The helper's own file: the only place that calls rename(). */
const HELPER = "spool/durable-fs.ts";
/** The one way it makes its calls (through libuv's pool, or blocking in the pipeline process): its rename is for the helper only. */
const FILE_IO = "spool/file-io.ts";
/**
 * Files allowed to rename WITHOUT fsyncing the folder (renameUnsynced), each with the reason its
 * owner documents. Adding a file here is a decision: say why a power cut may lose that file.
 */
const UNSYNCED_ALLOWED: Record<string, string> = {
  "wire/sent-store.ts": "the sent-mail record is only for a later delete or resend; a lost one answers E_NOT_SENT",
  "service/metrics.ts": "rewritten every 10 s; its counters restart with the service anyway",
  "service/transport-map.ts": "Postfix's table of bot routes is derived from the bots folder and rewritten at every start of host serve",
};

/** Every .ts file under host/, relative to it. */
function hostSources(dir = HOST): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return hostSources(path);
    return entry.name.endsWith(".ts") ? [relative(HOST, path)] : [];
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "durable-rename-"));
}

describe("durable rename", () => {
  it("durable files: no file in host/ renames except through durable-fs.ts (renameDurable, or renameUnsynced where a file says why)", () => {
    // A rename() from node:fs in any form: imported by name, through a namespace, or the sync variant.
    // Or file-io.ts's rename, imported by name.
    const direct =
      /import\s*\{[^}]*\brename(Sync)?\b[^}]*\}\s*from\s*["'](node:fs(\/promises)?|[^"']*\/file-io\.js)["']|\b(fs|fsp|promises|fsPromises|pool)\s*\.\s*rename(Sync)?\s*\(/;
    const sources = hostSources();
    expect(sources.length).toBeGreaterThan(50); // the walk found the tree
    expect(sources).toContain(FILE_IO);
    const offenders = sources.filter((file) => file !== HELPER && file !== FILE_IO && direct.test(readFileSync(join(HOST, file), "utf8")));
    expect(offenders).toEqual([]);
    const unsynced = sources.filter((file) => file !== HELPER && /\brenameUnsynced\s*\(/.test(readFileSync(join(HOST, file), "utf8")));
    expect(unsynced.sort()).toEqual(Object.keys(UNSYNCED_ALLOWED).sort());
  });

  it("renameDurable: every file is at its new name, and each distinct target folder is fsynced once, after the renames", async () => {
    const dir = tempDir();
    await mkdir(join(dir, "a"));
    await mkdir(join(dir, "b"));
    await writeFile(join(dir, "a", "one.tmp"), "1");
    await writeFile(join(dir, "a", "two.tmp"), "2");
    await writeFile(join(dir, "a", "three.tmp"), "3");
    const synced: Array<{ dir: string; present: string[] }> = [];
    await renameDurable(
      [
        [join(dir, "a", "one.tmp"), join(dir, "a", "one")],
        [join(dir, "a", "two.tmp"), join(dir, "b", "two")],
        [join(dir, "a", "three.tmp"), join(dir, "b", "three")],
      ],
      async (folder) => void synced.push({ dir: folder, present: (await readdir(folder)).sort() }),
    );
    expect(synced).toEqual([
      { dir: join(dir, "a"), present: ["one"] },
      { dir: join(dir, "b"), present: ["three", "two"] },
    ]);
    expect(await readFile(join(dir, "b", "two"), "utf8")).toBe("2");
  });

  it("renameDurable: a folder fsync that fails fails the call: a rename is never reported durable when it is not", async () => {
    const dir = tempDir();
    await writeFile(join(dir, "x.tmp"), "x");
    await expect(renameDurable([[join(dir, "x.tmp"), join(dir, "x")]], async () => Promise.reject(new Error("EIO: fsync failed")))).rejects.toThrow(
      /fsync failed/,
    );
    await renameDurable([[join(dir, "x"), join(dir, "y")]]); // and the default (real) sync succeeds
    expect(await readdir(dir)).toEqual(["y"]);
  });

  it("mkdirDurable: each folder it creates is fsynced into its parent; an existing folder syncs nothing", async () => {
    const dir = tempDir();
    const synced: string[] = [];
    const sync = async (folder: string) => void synced.push(folder);
    await mkdirDurable(join(dir, "p", "q", "r"), 0o700, sync);
    expect(synced.sort()).toEqual([dir, join(dir, "p"), join(dir, "p", "q")].sort());
    expect(statSync(join(dir, "p", "q", "r")).mode & 0o777).toBe(0o700);
    synced.length = 0;
    await mkdirDurable(join(dir, "p", "q", "r"), 0o700, sync);
    expect(synced).toEqual([]);
  });

  it("writePrivateFile / writeJsonFile: the new content at the name, mode 0600, no temp file left", async () => {
    const dir = tempDir();
    const file = join(dir, "bots", "bot@example.org", "state.json");
    await writeJsonFile(file, { a: 1 });
    await writePrivateFile(file, '{"a":2}');
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ a: 2 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "bots")).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, "bots", "bot@example.org"))).toEqual(["state.json"]);
  });
});
