// Reading logs/host.jsonl for the operator's commands: a bounded tail (the file is never read
// whole; it grows with every event) and following it as `host serve` appends. Lines are only
// taken up to the last newline: a line being written is read when it is complete.
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

const NEWLINE = 0x0a;

/** The complete lines at the end of a log file, where reading started, and the offset after the last newline. */
export interface LogTail {
  lines: string[];
  /** Byte offset of the first line returned; > 0 when older lines were left out. */
  from: number;
  /** Byte offset just after the last complete line: where following continues. */
  end: number;
}

/**
 * The complete lines in the last `maxBytes` of `file` (a line cut by the bound is left out: a file
 * of exactly `maxBytes` is read whole, one byte more drops its first line). A missing file is empty.
 */
export async function readLogTail(file: string, maxBytes: number): Promise<LogTail> {
  const size = await stat(file).then(
    (s) => s.size,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return 0;
      throw error;
    },
  );
  const start = Math.max(0, size - maxBytes);
  // From one byte before the bound: if that byte is a newline, the first line in the bound is whole.
  const readFrom = start === 0 ? 0 : start - 1;
  const bytes = await readRange(file, readFrom, size);
  let skip = 0;
  if (start > 0) {
    const first = bytes.indexOf(NEWLINE);
    skip = first === -1 ? bytes.length : first + 1;
  }
  const last = bytes.lastIndexOf(NEWLINE);
  if (last < skip) return { lines: [], from: readFrom + skip, end: readFrom + skip };
  const lines = bytes.subarray(skip, last).toString("utf8").split("\n");
  return { lines, from: readFrom + skip, end: readFrom + last + 1 };
}

/** Options of `followLog`. */
export interface FollowOptions {
  /** Stops following; `followLog` resolves soon after. */
  signal: AbortSignal;
  /** How often the file's size is looked at, ms. */
  pollMs: number;
}

/**
 * Call `onLines` with each batch of complete lines appended to `file` after byte `offset`, until
 * `signal` aborts. A file that shrank or was replaced (rotated) is read again from its start.
 */
export async function followLog(file: string, offset: number, onLines: (lines: string[]) => void, options: FollowOptions): Promise<void> {
  let position = offset;
  let inode: number | undefined;
  while (!options.signal.aborted) {
    const info = await stat(file).catch(() => undefined);
    if (info) {
      if ((inode !== undefined && info.ino !== inode) || info.size < position) position = 0;
      inode = info.ino;
      if (info.size > position) {
        const bytes = await readRange(file, position, info.size);
        const last = bytes.lastIndexOf(NEWLINE);
        if (last !== -1) {
          position += last + 1;
          onLines(bytes.subarray(0, last).toString("utf8").split("\n"));
        }
      }
    }
    await sleep(options.pollMs, undefined, { signal: options.signal }).catch(() => {});
  }
}

/** Bytes [from, to) of a file (fewer if it shrank meanwhile). */
async function readRange(file: string, from: number, to: number): Promise<Buffer> {
  if (to <= from) return Buffer.alloc(0);
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(to - from);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, from + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
