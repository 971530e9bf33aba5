// A JSON snapshot plus an append-only log of changes since it, for stores that change on every
// mail: appending one line costs the same however large the store is, where rewriting the whole
// JSON file grows with it. <file> is the snapshot (replaced atomically, json-file.ts), <file>.log
// holds one JSON value per line, each appended (and fdatasynced, unless the owner does not need
// it) before `append` resolves. After `compactEvery` lines the owner writes a fresh snapshot and
// the log starts over. A crash can
// leave a torn last line (skipped when read) or, between the snapshot's rename and the log's
// truncation, lines the snapshot already holds: owners apply lines idempotently.
import { dirname } from "node:path";
import { syncDir } from "../spool/durable-fs.js";
import { readFile, truncate, writeAndSync } from "../spool/file-io.js";
import { writePrivateFile } from "./json-file.js";

/** Lines appended to a log before its owner rewrites the snapshot. */
export const JSON_LOG_COMPACT_LINES = 500;

/** The snapshot and log of one store; not safe for overlapping calls (owners serialize them). */
export class JsonLog<Snapshot, Line> {
  private readonly logFile: string;
  private lines = 0;
  /** Whether this process has fsynced the log's folder since it first appended (the file may be new). */
  private logEntrySynced = false;

  private readonly compactEvery: number;
  private readonly durable: boolean;

  /** `durable: false`: appends are not fdatasynced (a store whose last lines a power cut may lose). */
  constructor(
    private readonly file: string,
    options: { compactEvery?: number; durable?: boolean } = {},
  ) {
    this.logFile = `${file}.log`;
    this.compactEvery = options.compactEvery ?? JSON_LOG_COMPACT_LINES;
    this.durable = options.durable ?? true;
  }

  /** The snapshot (undefined when there is none yet) and the log's complete lines, in order. */
  async read(): Promise<{ snapshot: Snapshot | undefined; lines: Line[] }> {
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
    return { snapshot, lines };
  }

  /** True when the owner should write a snapshot instead of appending (none yet, or the log is long). */
  wantsSnapshot(snapshotExists: boolean): boolean {
    return !snapshotExists || this.lines >= this.compactEvery;
  }

  /** Append one line (write + fdatasync unless the log is not durable). */
  async append(line: Line): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
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
    this.lines += 1;
  }

  /** Replace the snapshot atomically, then empty the log (its lines are in the snapshot now). */
  async snapshot(value: Snapshot): Promise<void> {
    await writePrivateFile(this.file, JSON.stringify(value));
    if (this.lines > 0)
      await truncate(this.logFile, 0).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    this.lines = 0;
  }
}
