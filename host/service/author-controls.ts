// What an author (a control deploy: `chatbot deploy --pause`, `--resume`, `--remove`) and the
// operator (`chatbot host remove`) can do to an installed bot besides installing it. Each keeps the
// transport table the host keeps in step, so Postfix routes the address accordingly.
//
// Pause takes the bot out of the table and leaves it installed: its mail goes to the account's
// mailbox as for any account (not run, not bounced, not held for days in Postfix's queue), and it
// gets no ticks. Resume puts it back. Remove moves its folder (keys, password, state, bundles) to
// DATA/removed/ADDR.TIME, so nothing is lost by a slip; the newest REMOVED_COPIES_PER_BOT per
// address are kept, older ones deleted, so a deploy → remove loop does not grow the disk.
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { REMOVED_COPIES_PER_BOT } from "../../core/limits.js";
import { mkdirDurable, renameDurable } from "../spool/durable-fs.js";
import { writeJsonFile } from "../storage/json-file.js";
import type { HostConfig } from "./host-config.js";
import { hostPaths } from "./paths.js";
import { syncTransportMap, type TransportMapSync } from "./transport-map.js";

type RouteConfig = Pick<HostConfig, "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir">;

/** <data>/bots/<addr>/paused.json. */
export interface PausedRecord {
  /** When it was paused, ms since the epoch. */
  at: number;
  by: "author";
}

/** True when the bot's author has paused it. */
export function isPaused(dataDir: string, addr: string): boolean {
  return existsSync(hostPaths(dataDir).bot(addr).paused);
}

/** Pause the installed bot `addr` (idempotent); the sync result, undefined without a host-kept table. */
export async function pauseBot(dataDir: string, config: RouteConfig, addr: string, now: number): Promise<TransportMapSync | undefined> {
  const file = hostPaths(dataDir).bot(addr).paused;
  if (!existsSync(file)) await writeJsonFile(file, { at: now, by: "author" } satisfies PausedRecord);
  return syncTransportMap(dataDir, config);
}

/** Resume the installed bot `addr` (idempotent). */
export async function resumeBot(dataDir: string, config: RouteConfig, addr: string): Promise<TransportMapSync | undefined> {
  await rm(hostPaths(dataDir).bot(addr).paused, { force: true });
  return syncTransportMap(dataDir, config);
}

/** The name of a removed copy: ADDR.TIME, TIME an ISO date with ':' and '.' as '-' (sorts by time). */
const REMOVED_COPY = /^(.+@.+)\.(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)$/;

/** Take the installed bot `addr` off this host: its folder moves to DATA/removed/ADDR.TIME (returned). */
export async function removeBot(dataDir: string, config: RouteConfig, addr: string, now: Date): Promise<{ kept: string; sync: TransportMapSync | undefined }> {
  const paths = hostPaths(dataDir);
  await mkdirDurable(paths.removed);
  const kept = join(paths.removed, `${addr.toLowerCase()}.${now.toISOString().replace(/[:.]/g, "-")}`);
  await renameDurable([[paths.bot(addr).dir, kept]]);
  await pruneRemovedCopies(dataDir, addr);
  return { kept, sync: await syncTransportMap(dataDir, config) };
}

/** Delete all but the newest REMOVED_COPIES_PER_BOT removed copies of `addr`; returns the deleted paths. */
export async function pruneRemovedCopies(dataDir: string, addr: string): Promise<string[]> {
  const removed = hostPaths(dataDir).removed;
  const copies = (await readdir(removed)).filter((name) => REMOVED_COPY.exec(name)?.[1]?.toLowerCase() === addr.toLowerCase()).sort();
  const old = copies.slice(0, Math.max(0, copies.length - REMOVED_COPIES_PER_BOT)).map((name) => join(removed, name));
  for (const path of old) await rm(path, { recursive: true, force: true });
  return old;
}
