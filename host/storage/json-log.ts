// A JSON snapshot plus an append-only log of changes since it, for stores that change on every
// mail: appending one line costs the same however large the store is, where rewriting the whole
// JSON file grows with it. <file> is the snapshot (replaced atomically, json-file.ts), <file>.log
// holds one JSON value per line, each appended (and fdatasynced, unless the owner does not need
// it) before `append` resolves. After `compactEvery` lines, or `compactChars` characters of them,
// the owner writes a fresh snapshot and the log starts over. A crash can leave a torn last line
// (skipped when read; the next append starts a line of its own) or, between the snapshot's rename
// and the log's truncation, lines the snapshot already holds: owners apply lines idempotently. A
// reader that is not the writer (another object, another process) gets a snapshot and the lines
// after it, never a new snapshot's emptied log under the old snapshot: `read` reads again when the
// snapshot was replaced while it read.
import { dirname } from "node:path";
import { syncDir } from "../spool/durable-fs.js";
import { readFile, statIfPresent, truncate, writeAndSync } from "../spool/file-io.js";
import { writePrivateFile } from "./json-file.js";
import { sameFile } from "./parsed-file-cache.js";

/** Lines appended to a log before its owner rewrites the snapshot. */
export const JSON_LOG_COMPACT_LINES = 500;
/** Times `read` reads before it gives up on a snapshot that keeps being replaced under it (the writer folds every 500 lines). */
const READ_ATTEMPTS = 10;

/** The snapshot and log of one store; not safe for overlapping calls (owners serialize them). */
export class JsonLog<Snapshot, Line> {
  private readonly logFile: string;
  private lines = 0;
  /** Characters of the log's lines (what compactChars bounds). */
  private logChars = 0;
  /** The log may end in a torn line (read so, or an append failed): the next append starts a new line first. */
  private tornTail = false;
  /** Whether this process has fsynced the log's folder since it first appended (the file may be new). */
  private logEntrySynced = false;

  private readonly compactEvery: number;
  private readonly compactChars: number;
  private readonly durable: boolean;

  /**
   * `durable: false`: appends are not fdatasynced (a store whose last lines a power cut may lose).
   * `compactChars`: a snapshot is also due once the log's lines hold this many characters (lines
   * that can be large, such as a bot's state changes).
   */
  constructor(
    private readonly file: string,
    options: { compactEvery?: number; compactChars?: number; durable?: boolean } = {},
  ) {
    this.logFile = `${file}.log`;
    this.compactEvery = options.compactEvery ?? JSON_LOG_COMPACT_LINES;
    this.compactChars = options.compactChars ?? Number.POSITIVE_INFINITY;
    this.durable = options.durable ?? true;
  }

  /** The snapshot (undefined when there is none yet) and the log's complete lines, in order. */
  async read(): Promise<{ snapshot: Snapshot | undefined; lines: Line[] }> {
    for (let attempt = 1; ; attempt++) {
      const before = await statIfPresent(this.file);
      const read = await this.readOnce();
      // Replaced meanwhile: the log read may already be the new snapshot's (emptied).
      const after = await statIfPresent(this.file);
      if (after === before || (after && before && sameFile(after, before))) return read;
      if (attempt === READ_ATTEMPTS) throw new Error(`${this.file} was replaced ${READ_ATTEMPTS} times while it was read; try again later`);
    }
  }

  private async readOnce(): Promise<{ snapshot: Snapshot | undefined; lines: Line[] }> {
    let snapshot: Snapshot | undefined;
    try {
      snapshot = JSON.parse(await readFile(this.file, "utf8")) as Snapshot;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const lines: Line[] = [];
    const text = await readFile(this.logFile, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        lines.push(JSON.parse(line) as Line);
      } catch {
        // A line torn by a crash mid-append: it was never acknowledged.
      }
    }
    this.lines = lines.length;
    this.logChars = text.length;
    this.tornTail = text.length > 0 && !text.endsWith("\n");
    return { snapshot, lines };
  }

  /** True when the owner should write a snapshot instead of appending (none yet, or the log is long). */
  wantsSnapshot(snapshotExists: boolean): boolean {
    return !snapshotExists || this.lines >= this.compactEvery || this.logChars >= this.compactChars;
  }

  /** Append one line (write + fdatasync unless the log is not durable); resolves with its characters. */
  async append(line: Line): Promise<number> {
    // After a torn line, a line of its own (the empty line between is skipped when read).
    const text = `${this.tornTail ? "\n" : ""}${JSON.stringify(line)}\n`;
    this.tornTail = true;
    if (this.durable) {
      await writeAndSync(this.logFile, text, "a", 0o600, "data");
      // The first append may have created the file: its name is durable only once its folder is fsynced.
      if (!this.logEntrySynced) {
        await syncDir(dirname(this.logFile));
        this.logEntrySynced = true;
      }
    } else {
      await writeAndSync(this.logFile, text, "a", 0o600, "none");
    }
    this.tornTail = false;
    this.lines += 1;
    this.logChars += text.length;
    return text.length;
  }

  /**
   * Replace the snapshot atomically, then empty the log (its lines are in the snapshot now; one this
   * object never read is emptied too). Resolves with the snapshot's characters.
   */
  async snapshot(value: Snapshot): Promise<number> {
    const text = JSON.stringify(value);
    await writePrivateFile(this.file, text);
    await truncate(this.logFile, 0).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    this.lines = 0;
    this.logChars = 0;
    this.tornTail = false;
    return text.length;
  }
}
