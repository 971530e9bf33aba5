// One spool entry: its id (which also names the writing process) and its sidecar meta, parsed
// strictly so a damaged meta file can never pass as a different entry.

/** One mail waiting in the spool for one bot. */
import { parseJsonObject } from "../storage/json-object.js";
export interface SpoolEntry {
  /** `<ms>-<pid>-<random>`: the file name of the mail in the spool; its meta is `<id>.json`. */
  id: string;
  /** The bot address the mail is for (lower case). */
  recipient: string;
  /** When the door stored it, ms since epoch. */
  receivedAt: number;
  /** How often the service tried to handle it. */
  attempts: number;
  /** Not before this time, ms since epoch (receivedAt for a new entry). */
  nextAttemptAt: number;
  /** Why the last attempt failed. */
  lastError?: string;
  /** Opaque progress record of the service (e.g. which outbound mails were already accepted). */
  journal?: unknown;
}

/** An entry moved to dead/, with the reason it was given up. */
export type DeadLetter = SpoolEntry & { reason: string };

/** Ids are `<ms>-<pid>-<12 hex>`: unique without coordination, and they name the writer. */
const ID = /^(\d{1,16})-(\d{1,10})-([0-9a-f]{12})$/;

/**
 * A fresh entry id for a mail received at `nowMs` by this process. The random part only separates
 * ids of one process within one millisecond, and every file is created with O_EXCL ("wx"), so a
 * collision fails loudly instead of overwriting: Math.random is enough, and node:crypto (~1.5 ms to
 * load) stays out of `host deliver`'s start-up.
 */
export function newEntryId(nowMs: number, pid: number = process.pid): string {
  const random = Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, "0");
  return `${Math.trunc(nowMs)}-${pid}-${random}`;
}

/** The pid of the process that wrote the entry (or temp file) named `name`, if the name is an id. */
export function writerPid(name: string): number | undefined {
  const match = ID.exec(name.split(".")[0] ?? "");
  return match ? Number(match[2]) : undefined;
}

/** True when `name` is a well-formed entry id (used to ignore strangers in the spool folders). */
export function isEntryId(name: string): boolean {
  return ID.test(name);
}

/** The meta as stored: the entry minus its id (the id is the file name). */
export function encodeMeta(entry: SpoolEntry, extra: Record<string, unknown> = {}): string {
  const { id: _id, ...meta } = entry;
  return `${JSON.stringify({ ...meta, ...extra })}\n`;
}

/**
 * Parse a meta file's text for entry `id`; undefined when it is not a complete, valid meta.
 * Checked by hand, not with the host's schema library (valibot): this file is part of `host
 * deliver`, which loads no package at all (cli/host-deliver.test.ts) to start in a few ms.
 */
export function parseMeta(id: string, text: string): (SpoolEntry & { reason?: string }) | undefined {
  const v = parseJsonObject(text);
  if (!v) return undefined;
  const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  if (typeof v.recipient !== "string" || !finite(v.receivedAt) || !finite(v.attempts) || !finite(v.nextAttemptAt)) return undefined;
  if (v.lastError !== undefined && typeof v.lastError !== "string") return undefined;
  if (v.reason !== undefined && typeof v.reason !== "string") return undefined;
  return {
    id,
    recipient: v.recipient,
    receivedAt: v.receivedAt,
    attempts: v.attempts,
    nextAttemptAt: v.nextAttemptAt,
    ...(v.lastError !== undefined ? { lastError: v.lastError } : {}),
    ...(v.journal !== undefined ? { journal: v.journal } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
  };
}
