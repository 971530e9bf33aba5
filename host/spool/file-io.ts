// The small-file calls of the host's durable stores (durable-fs.ts, json-file.ts, json-log.ts,
// the spool's reads), made either through node's thread pool (the default) or as blocking calls
// (`useBlockingFileIo`, which the pipeline process turns on at start).
//
// Why two ways (issue 15, CPU per event): an asynchronous call hands its work to libuv's pool and
// wakes the event loop when it is done (a futex, an eventfd write and read, a promise), which costs
// ~0.05 ms of CPU for a stat or a 3 KB read on this machine against ~0.007 ms for the same call
// blocking; a temp-write-fsync-rename ~0.22 against ~0.08 ms (`node` micro-benchmark, 2026-12-05). A mail
// makes ~35 such calls in the pipeline (strace: the spool's meta and mail, the journal, the seen
// and sent logs, the usage counters). The pipeline process drives one entry at a time and
// answers no socket that waits on it (the door holds LMTP), so a call that blocks it for a disk
// flush delays only its own next step. The door keeps the pool: it serves many LMTP
// conversations at once and writes whole mails.
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from "node:fs";
import * as pool from "node:fs/promises";

let blocking = false;

/** Make this process's store calls blocking (the pipeline process; see above). `false` turns it back (tests). */
export function useBlockingFileIo(on = true): void {
  blocking = on;
}

/** Whether store calls block in this process. */
export function isBlockingFileIo(): boolean {
  return blocking;
}

export function readFile(file: string): Promise<Buffer>;
export function readFile(file: string, encoding: "utf8"): Promise<string>;
export async function readFile(file: string, encoding?: "utf8"): Promise<Buffer | string> {
  if (blocking) return encoding ? readFileSync(file, encoding) : readFileSync(file);
  return encoding ? pool.readFile(file, encoding) : pool.readFile(file);
}

export async function readdir(dir: string): Promise<string[]> {
  return blocking ? readdirSync(dir) : pool.readdir(dir);
}

export async function stat(path: string): Promise<Stats> {
  return blocking ? statSync(path) : pool.stat(path);
}

/** stat, or undefined when nothing is at `path`; any other error is thrown. */
export async function statIfPresent(path: string): Promise<Stats | undefined> {
  return stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
}

/** mkdir; with `recursive`, the topmost folder it created, or undefined when all were there (as node's). */
export async function mkdir(dir: string, options: { recursive: true; mode: number }): Promise<string | undefined> {
  return blocking ? mkdirSync(dir, options) : pool.mkdir(dir, options);
}

export async function rename(from: string, to: string): Promise<void> {
  if (blocking) renameSync(from, to);
  else await pool.rename(from, to);
}

export async function unlink(file: string): Promise<void> {
  if (blocking) unlinkSync(file);
  else await pool.unlink(file);
}

export async function truncate(file: string, length: number): Promise<void> {
  if (blocking) truncateSync(file, length);
  else await pool.truncate(file, length);
}

/** How `writeAndSync` makes the data durable before it resolves: not at all, fdatasync, or fsync. */
export type SyncKind = "none" | "data" | "full";

/**
 * Open `file` with `flag` ("w" replace, "wx" create only, "a" append) and `mode`, write all of
 * `data`, sync it as `sync` says, close it (also when a step fails).
 */
export async function writeAndSync(file: string, data: string | Uint8Array, flag: "w" | "wx" | "a", mode: number, sync: SyncKind): Promise<void> {
  if (blocking) {
    const fd = openSync(file, flag, mode);
    try {
      writeFileSync(fd, data);
      if (sync === "full") fsyncSync(fd);
      else if (sync === "data") fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const handle = await pool.open(file, flag, mode);
  try {
    await handle.writeFile(data);
    if (sync === "full") await handle.sync();
    else if (sync === "data") await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** fsync a file or folder by name (a folder: makes the renames, creations and unlinks in it durable). */
export async function syncPath(path: string): Promise<void> {
  if (blocking) {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const handle = await pool.open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
