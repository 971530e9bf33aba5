// Parses of files kept between reads while each file is the same one, so a caller that reads a file
// on every event pays for its parse once (group-store.ts: 25 ms of CPU for a 2 MiB groups.json;
// pgp/identity.ts: 3.7 ms to parse and check a key). "The same one": inode, size and mtime as a
// stat saw them, and ctime too for a cache made with `compareCtime` — a rename over the file gives
// a new inode, a write in place changes size or the times (a same-size rewrite within one kernel
// clock tick of the stat is not seen; the host's writers replace files by rename). A file whose
// mtime was set back (utimes) is seen only through its ctime. Bounded by a weight per entry, least
// recently used first.

import { WeightedLru } from "./weighted-lru.js";

/** What a stat says of a file's identity. */
export interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** Whether two looks at a file saw the same one (inode, size, mtime). */
export function sameFile(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Parsed files by path, least recently used first, with the stamp of the file each was read from. */
export class ParsedFileCache<T> {
  private readonly kept: WeightedLru<{ stamp: FileStamp; value: T }>;

  constructor(
    /** The most the kept entries weigh together. */
    maxWeight: number,
    /** An entry's weight (its file's bytes, or 1 to bound the count). */
    private readonly weightOf: (stamp: FileStamp) => number,
    /** Compare ctime too (a set-back mtime is then seen). */
    private readonly compareCtime = false,
  ) {
    this.kept = new WeightedLru({ maxEntries: Number.POSITIVE_INFINITY, maxWeight });
  }

  /** The parse kept for `file` when the file is still the one `now` describes (it becomes the most recently used); else undefined. */
  get(file: string, now: FileStamp): T | undefined {
    return this.kept.take(file, ({ stamp }) => sameFile(stamp, now) && (!this.compareCtime || stamp.ctimeMs === now.ctimeMs))?.value;
  }

  /** Keep `value` as the parse of `file` as `stamp` describes it; the least recently used go beyond maxWeight, and one heavier than that is not kept. */
  keep(file: string, stamp: FileStamp, value: T): void {
    this.kept.put(file, { stamp: { ino: stamp.ino, size: stamp.size, mtimeMs: stamp.mtimeMs, ctimeMs: stamp.ctimeMs }, value }, this.weightOf(stamp));
  }

  /** Drop what is kept for `file`. */
  forget(file: string): void {
    this.kept.forget(file);
  }
}
