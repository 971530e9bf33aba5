// The durable queue between the ingress doors (LMTP, `host deliver`) and the service, maildir-like:
//   <spool>/tmp/   files being written (a crash leaves them here; `recover` removes them)
//   <spool>/new/   entries: the raw mail `<id>` and its meta `<id>.json` side by side
//   <spool>/dead/  entries given up, their meta with the reason, kept for the operator
// An entry exists only while BOTH its mail and its meta are in new/. Both are written and fsynced
// in tmp/, renamed into new/, and new/ is fsynced before `write` resolves: a crash at any point
// leaves no entry or a complete one, and a door acknowledges a mail only after `write` resolved.
// Several processes share one spool (many `host deliver` at once, `host serve`): every name is a
// fresh id `<ms>-<pid>-<random>`, so writers never collide, and `recover` only removes leftovers
// whose writer is gone (or that are older than `staleMs`).
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { copyBounded, type MailSource } from "./bounded-copy.js";
import { DIR_MODE, FILE_MODE, renameDurable, syncDir, unlinkIfPresent, writeNewFileSynced } from "./durable-fs.js";
import { mkdir, readdir, readFile, stat } from "./file-io.js";
import { encodeMeta, isEntryId, newEntryId, parseMeta, writerPid, type DeadLetter, type SpoolEntry } from "./entry.js";
import type { Clock } from "../../core/clock.js";

export type { DeadLetter, SpoolEntry } from "./entry.js";
export type { MailSource } from "./bounded-copy.js";

/** The spool's notion of now (injected: tests use a fake clock). */
export type { Clock } from "../../core/clock.js";

/** A leftover older than this is removed by `recover` even if a process with its writer's pid exists (pid reuse), ms. */
const SPOOL_STALE_MS = 60 * 60 * 1000;

/** A durable, multi-process mail queue in one folder (see the top of this file). */
export class Spool {
  readonly dirs: { readonly root: string; readonly tmp: string; readonly new: string; readonly dead: string };
  #ready: Promise<void> | undefined;

  constructor(
    dir: string,
    private readonly clock: Clock,
  ) {
    this.dirs = Object.freeze({ root: dir, tmp: join(dir, "tmp"), new: join(dir, "new"), dead: join(dir, "dead") });
  }

  /** Durably store one mail for `recipient`: write tmp, fsync file, rename into new/, fsync the directory; only then resolve. Refuses more than maxBytes (E_MAIL_TOO_LARGE) without storing anything. */
  async write(recipient: string, data: MailSource, maxBytes: number): Promise<SpoolEntry> {
    const now = this.clock.now();
    const entry: SpoolEntry = { id: newEntryId(now), recipient: recipient.toLowerCase(), receivedAt: now, attempts: 0, nextAttemptAt: now };
    const tmpMail = join(this.dirs.tmp, entry.id);
    const tmpMeta = `${tmpMail}.json`;
    const { mail, meta } = this.#paths(this.dirs.new, entry);
    try {
      await writeMailAndMeta(await this.#createInTmp(tmpMail), data, maxBytes, tmpMeta, encodeMeta(entry));
      await renameDurable([
        [tmpMail, mail],
        [tmpMeta, meta],
      ]);
      return entry;
    } catch (error) {
      // Nothing was acknowledged: leave nothing behind (best effort; `recover` catches the rest).
      await Promise.allSettled([tmpMail, tmpMeta, meta, mail].map(unlinkIfPresent));
      throw error;
    }
  }

  /** Entries ready now (nextAttemptAt <= now), oldest first. */
  async ready(): Promise<SpoolEntry[]> {
    return (await this.due()).ready;
  }

  /** The entries whose time has come (oldest first), and when the first of the others is due (Infinity: none), ms. */
  async due(): Promise<{ ready: SpoolEntry[]; nextAt: number }> {
    const now = this.clock.now();
    const ready: SpoolEntry[] = [];
    let nextAt = Number.POSITIVE_INFINITY;
    for (const entry of await this.all()) {
      if (entry.nextAttemptAt <= now) ready.push(entry);
      else nextAt = Math.min(nextAt, entry.nextAttemptAt);
    }
    return { ready, nextAt };
  }

  /** All entries (for status), oldest first. */
  async all(): Promise<SpoolEntry[]> {
    const entries = await this.#list(this.dirs.new);
    return entries.map(({ reason: _reason, ...entry }) => entry);
  }

  /** The raw mail of an entry. */
  read(entry: SpoolEntry): Promise<Uint8Array> {
    return readFile(this.#paths(this.dirs.new, entry).mail);
  }

  /** The raw mail of an entry as a stream (to copy it without holding it in memory). */
  stream(entry: SpoolEntry): AsyncIterable<Uint8Array> {
    return createReadStream(this.#paths(this.dirs.new, entry).mail);
  }

  /** Update meta (attempts, nextAttemptAt, lastError, journal) atomically. id, recipient and receivedAt never change. */
  async update(entry: SpoolEntry, change: Partial<SpoolEntry>): Promise<SpoolEntry> {
    const next: SpoolEntry = { ...entry, ...change, id: entry.id, recipient: entry.recipient, receivedAt: entry.receivedAt };
    await this.#replaceMeta(this.#paths(this.dirs.new, entry).meta, encodeMeta(next));
    return next;
  }

  /** Remove a finished entry (mail + meta). The meta goes first: without it the entry no longer exists. */
  async complete(entry: SpoolEntry): Promise<void> {
    const { mail, meta } = this.#paths(this.dirs.new, entry);
    await unlinkIfPresent(meta);
    await unlinkIfPresent(mail);
    await syncDir(this.dirs.new);
  }

  /** Move to dead/ with the reason (kept for the operator). */
  async deadLetter(entry: SpoolEntry, reason: string): Promise<void> {
    await this.#ensureDirs();
    const from = this.#paths(this.dirs.new, entry);
    const to = this.#paths(this.dirs.dead, entry);
    // dead/ gets its meta first, then the mail (complete there from this moment), then the entry
    // leaves new/. A crash between the steps leaves a lone file, which `recover` removes.
    await this.#replaceMeta(to.meta, encodeMeta(entry, { reason, deadAt: this.clock.now() }));
    await renameDurable([[from.mail, to.mail]]);
    await unlinkIfPresent(from.meta);
    await syncDir(this.dirs.new);
  }

  /** Entries given up, with their reasons, oldest first. */
  async deadLetters(): Promise<DeadLetter[]> {
    const entries = await this.#list(this.dirs.dead);
    return entries.map((entry) => ({ ...entry, reason: entry.reason ?? "" }));
  }

  /**
   * Remove what crashed writers left: files in tmp/ and lone halves of an entry in new/ or dead/
   * (a mail without meta or a meta without mail), when their writer process is gone or they are
   * older than `staleMs`. Call once when the service starts. Returns the removed paths.
   */
  async recover(staleMs: number = SPOOL_STALE_MS): Promise<string[]> {
    await this.#ensureDirs();
    const removed: string[] = [];
    const now = this.clock.now();
    const sweep = async (dir: string, names: string[]) => {
      for (const name of names) {
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        // Keep what a live writer may still be working on; a name without a writer only until stale.
        const pid = writerPid(name);
        const fresh = now - info.mtimeMs < staleMs;
        if (fresh && (pid === undefined || isAlive(pid))) continue;
        await unlinkIfPresent(path);
        removed.push(path);
      }
    };
    await sweep(this.dirs.tmp, await readdir(this.dirs.tmp));
    for (const dir of [this.dirs.new, this.dirs.dead]) {
      const names = new Set(await readdir(dir));
      const lone = [...names].filter((name) => {
        const id = name.endsWith(".json") ? name.slice(0, -".json".length) : name;
        if (!isEntryId(id)) return false;
        return name.endsWith(".json") ? !names.has(id) : !names.has(`${id}.json`);
      });
      await sweep(dir, lone);
      if (lone.length > 0) await syncDir(dir);
    }
    return removed;
  }

  /** Create a file in tmp/ (O_EXCL, 0600); the folders are made only when missing (one mkdir less per delivery). */
  async #createInTmp(file: string): Promise<FileHandle> {
    try {
      return await open(file, "wx", FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await this.#ensureDirs();
      return open(file, "wx", FILE_MODE);
    }
  }

  #paths(dir: string, entry: Pick<SpoolEntry, "id">) {
    if (!isEntryId(entry.id)) throw new Error(`not a spool entry id: ${JSON.stringify(entry.id)}`);
    return { mail: join(dir, entry.id), meta: join(dir, `${entry.id}.json`) };
  }

  /** Replace a meta file atomically and durably: a fresh temp in tmp/ (named after this writer), fsync, rename, fsync the target's folder. */
  async #replaceMeta(target: string, text: string): Promise<void> {
    const temp = join(this.dirs.tmp, `${newEntryId(this.clock.now())}.meta`);
    try {
      await writeNewFileSynced(temp, text);
      await renameDurable([[temp, target]]);
    } catch (error) {
      await unlinkIfPresent(temp).catch(() => {});
      throw error;
    }
  }

  /** Complete entries in `dir` (mail and meta both present, meta valid), oldest first. */
  async #list(dir: string): Promise<Array<SpoolEntry & { reason?: string }>> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const present = new Set(names);
    const ids = names
      .filter((name) => name.endsWith(".json"))
      .map((name) => name.slice(0, -".json".length))
      .filter((id) => isEntryId(id) && present.has(id));
    const entries = await Promise.all(
      ids.map(async (id) => {
        const text = await readFile(join(dir, `${id}.json`), "utf8").catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return undefined; // completed meanwhile by another process
          throw error;
        });
        return text === undefined ? undefined : parseMeta(id, text);
      }),
    );
    return entries.filter((entry) => entry !== undefined).sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Create tmp/, new/ and dead/ once per Spool (0700); a folder created now is made durable in its parent. */
  #ensureDirs(): Promise<void> {
    this.#ready ??= (async () => {
      for (const dir of [this.dirs.tmp, this.dirs.new, this.dirs.dead]) {
        const created = await mkdir(dir, { recursive: true, mode: DIR_MODE });
        if (created !== undefined) {
          await syncDir(dirname(created));
          await syncDir(dirname(dir));
        }
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }
}

/** Write the mail (into the open `handle`, which this closes) and its meta into tmp/, both fsynced; the meta's write overlaps the mail's fsync (one disk flush of latency, not two). */
async function writeMailAndMeta(handle: FileHandle, data: MailSource, maxBytes: number, metaFile: string, meta: string): Promise<void> {
  try {
    await copyBounded(handle, data, maxBytes);
    const [mailSynced, metaWritten] = await Promise.allSettled([handle.sync(), writeNewFileSynced(metaFile, meta)]);
    if (mailSynced.status === "rejected") throw mailSynced.reason;
    if (metaWritten.status === "rejected") throw metaWritten.reason;
  } finally {
    await handle.close();
  }
}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
function isAlive(pid: number): boolean {
  if (pid <= 1) return pid === 1; // never signal 0 (our process group) — pid 1 is always there
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
