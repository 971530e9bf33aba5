// Parses of files kept between reads while each file is the same one, so a caller that reads a file
// on every event pays for its parse once (group-store.ts: 25 ms of CPU for a 2 MiB groups.json;
// pgp/identity.ts: 3.7 ms to parse and check a key). "The same one": inode, size and mtime as a
// stat saw them, and ctime too for a cache made with `compareCtime` — a rename over the file gives
// a new inode, a write in place changes size or the times (a same-size rewrite within one kernel
// clock tick of the stat is not seen; the host's writers replace files by rename). A file whose
// mtime was set back (utimes) is seen only through its ctime. Bounded by a weight per entry, least
// recently used first.

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
  private readonly kept = new Map<string, { stamp: FileStamp; value: T; weight: number }>();
  private weight = 0;

  constructor(
    /** The most the kept entries weigh together. */
    private readonly maxWeight: number,
    /** An entry's weight (its file's bytes, or 1 to bound the count). */
    private readonly weightOf: (stamp: FileStamp) => number,
    /** Compare ctime too (a set-back mtime is then seen). */
    private readonly compareCtime = false,
  ) {}

  /** The parse kept for `file` when the file is still the one `now` describes (it becomes the most recently used); else undefined. */
  get(file: string, now: FileStamp): T | undefined {
    const entry = this.kept.get(file);
    if (!entry || !sameFile(entry.stamp, now) || (this.compareCtime && entry.stamp.ctimeMs !== now.ctimeMs)) return undefined;
    this.kept.delete(file);
    this.kept.set(file, entry);
    return entry.value;
  }

  /** Keep `value` as the parse of `file` as `stamp` describes it; the least recently used go beyond maxWeight, and one heavier than that is not kept. */
  keep(file: string, stamp: FileStamp, value: T): void {
    this.forget(file);
    const weight = this.weightOf(stamp);
    if (weight > this.maxWeight) return;
    this.kept.set(file, { stamp: { ino: stamp.ino, size: stamp.size, mtimeMs: stamp.mtimeMs, ctimeMs: stamp.ctimeMs }, value, weight });
    this.weight += weight;
    for (const oldest of this.kept.keys()) {
      if (this.weight <= this.maxWeight) break;
      this.forget(oldest);
    }
  }

  /** Drop what is kept for `file`. */
  forget(file: string): void {
    const entry = this.kept.get(file);
    if (!entry) return;
    this.weight -= entry.weight;
    this.kept.delete(file);
  }
}
