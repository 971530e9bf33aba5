// The file-system steps every durable file of the host goes through (the spool, state.json,
// bot.json, ticks, the stores, host.json): write-and-fsync a new file, rename it into place and
// fsync the folder (POSIX leaves a rename, creation or unlink in the page cache until its folder
// is fsynced, so a power cut could bring back the old file), create folders durably, and unlink
// that tolerates "already gone". `renameDurable` is the one way the host renames a durable file:
// test/host/storage/durable-rename.test.ts fails when any other file of host/ calls rename().
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { mkdir, rename, syncPath, unlink, writeAndSync } from "./file-io.js";

/** Files the spool creates: only the host user reads mail. */
export const FILE_MODE = 0o600;
/** Folders the spool creates. */
export const DIR_MODE = 0o700;

/** Create `file` (it must not exist), write `data`, fsync it, close it. */
export async function writeNewFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  await writeAndSync(file, data, "wx", FILE_MODE, "full");
}

/** fsync a folder: makes the renames, creations and unlinks in it durable (POSIX leaves them in the page cache otherwise). */
export async function syncDir(dir: string): Promise<void> {
  await syncPath(dir);
}

/**
 * Rename each `[from, to]` in order (`sync` is injected by tests), then fsync each distinct target folder once: when this
 * resolves, every file is durably at its new name. The source folders are not fsynced, so a
 * crash may leave a temp name behind as well (its owner removes such leftovers); pass files
 * already fsynced (writeNewFileSynced), or a power cut can leave the new name with no data.
 */
export async function renameDurable(moves: ReadonlyArray<readonly [from: string, to: string]>, sync: (dir: string) => Promise<void> = syncDir): Promise<void> {
  for (const [from, to] of moves) await rename(from, to);
  for (const dir of new Set(moves.map(([, to]) => dirname(to)))) await sync(dir);
}

/**
 * Rename without fsyncing the folder: only for files whose owner documents that a power cut may
 * lose them (the sent-mail record, the metrics file). The durable-rename test lists every caller.
 */
export async function renameUnsynced(from: string, to: string): Promise<void> {
  await rename(from, to);
}

/** mkdir -p (0700 for new folders) where each folder it creates is fsynced into its parent. */
export async function mkdirDurable(dir: string, mode: number = DIR_MODE, sync: (dir: string) => Promise<void> = syncDir): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode });
  if (created === undefined) return;
  // `created` is the topmost new folder; each new folder's entry lives in the folder above it.
  for (let folder = dir; ; folder = dirname(folder)) {
    await sync(dirname(folder));
    if (folder === created || dirname(folder) === folder) break;
  }
}

/** fsync every file and folder under `dir` (a copied tree, before it is renamed into place): cp() syncs nothing. */
export async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) await syncPath(path);
  }
  await syncDir(dir);
}

/** Unlink `file`; a file that is already gone is fine. */
export async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
