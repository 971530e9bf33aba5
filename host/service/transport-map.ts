// The Postfix transport table the host keeps itself (issue 13, part 3): one line per installed
// bot, "ADDR NEXTHOP", sending its mail to the host's LMTP door instead of Dovecot. Postfix reads
// it as `transport_maps = hash:FILE` (README "Install", step 3). The host rewrites it at every
// install and removal, so a new bot needs no operator step. New Postfix processes read a rebuilt
// .db by themselves, but the queue manager's resolver keeps the table it started with while its
// connection is busy (a removed route lasted 25 s to over 60 s on the test relay; `ipc_ttl`, 1000 s,
// at most): `host setup`'s chatbot-routes.path unit reloads Postfix at each rebuild (the host is
// not root and never does). While the host is down its socket refuses, so Postfix defers a bot's
// mail and retries it; a bot taken off the table gets its mail in its mailbox again.
// Disabled bots stay on it: the host decides what happens to their mail (spool/dead).
import { existsSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { isAccountAddress } from "../../core/address.js";
import { ChatbotError, errorMessage } from "../../core/errors.js";
import type { HostConfig } from "./host-config.js";
import { routedBotAddresses } from "./paths.js";
import { renameUnsynced } from "../spool/durable-fs.js";
import { runTool } from "./run-tool.js";
import { listEntries } from "./postfix-list.js";

/** Postfix's queue directory on Debian: an LMTP socket below it is named relative to it, which works chrooted or not. */
const POSTFIX_QUEUE_DIR = "/var/spool/postfix/";

/** What a table's lines send bot mail to: host.json `transportNexthop`, else the LMTP socket as Postfix names it. */
export function transportNexthop(config: Pick<HostConfig, "lmtpSocket" | "transportNexthop">): string {
  if (config.transportNexthop !== undefined) return config.transportNexthop;
  const socket = config.lmtpSocket.startsWith(POSTFIX_QUEUE_DIR) ? config.lmtpSocket.slice(POSTFIX_QUEUE_DIR.length) : config.lmtpSocket;
  return `lmtp:unix:${socket}`;
}

/** The table's text for `addresses`: a header line, then "addr<TAB>nexthop" per bot, sorted. */
export function transportMapText(addresses: readonly string[], nexthop: string): string {
  const lines = [...addresses].sort().map((addr) => {
    // The folder names come from installs that checked them; a line of the table must still never
    // be two lines or carry a second field, whatever is in the bots folder.
    if (!isAccountAddress(addr)) throw new ChatbotError("E_CONFIG", `bots/${JSON.stringify(addr)} is not a bot address: it cannot go into the transport table`);
    return `${addr}\t${nexthop}`;
  });
  return `# Written by chatbot host (one line per installed bot); edits are overwritten.\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}`;
}

/** What one sync did. */
export interface TransportMapSync {
  file: string;
  bots: number;
  /** The table's text as the installed bots want it. */
  text: string;
  /** False when the table already said this (nothing written, no postmap run). */
  changed: boolean;
}

type RouteConfig = Pick<HostConfig, "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir">;

/** How long one Postfix tool (postmap, postconf) may take, ms (postmap takes ~10 ms for 1 000 lines). */
const POSTFIX_TOOL_TIMEOUT_MS = 30_000;

/** Run a Postfix tool (`-c postfixConfigDir` first when set): its output, trimmed; a failure says its stderr (run-tool.ts). */
export function postfixTool(tool: "postconf" | "postmap", args: string[], postfixConfigDir: string | undefined): Promise<string> {
  const config = postfixConfigDir === undefined ? [] : ["-c", postfixConfigDir];
  return runTool(tool, [...config, ...args], { timeoutMs: POSTFIX_TOOL_TIMEOUT_MS });
}

/** The `transport_maps` entry that reads the table `file`. */
export function tableEntry(file: string): string {
  return `hash:${file}`;
}

/** Whether a `transport_maps` value (tables separated by commas or spaces) reads the table `file`. */
export function mapsReadTable(maps: string, file: string): boolean {
  return listEntries(maps).includes(tableEntry(file));
}

/** Whether `file`'s .db exists and was built after the table was last written. */
export function tableDbIsCurrent(file: string): boolean {
  const db = `${file}.db`;
  return existsSync(db) && statSync(db).mtimeMs >= statSync(file).mtimeMs;
}

/** The table as the installed bots want it (paused ones left out), without touching the file; undefined without host.json `transportMap`. */
export async function plannedTransportMap(dataDir: string, config: RouteConfig): Promise<{ file: string; bots: string[]; text: string } | undefined> {
  const file = config.transportMap;
  if (file === undefined) return undefined;
  const bots = await routedBotAddresses(dataDir);
  return { file, bots, text: transportMapText(bots, transportNexthop(config)) };
}

/** How a sync builds the .db: `postmap [-c DIR] hash:FILE` (tests pass another command to see it fail). */
export type Postmap = (file: string, postfixConfigDir: string | undefined) => Promise<void>;

const systemPostmap: Postmap = async (file, postfixConfigDir) => {
  await postfixTool("postmap", [tableEntry(file)], postfixConfigDir);
};

/**
 * Bring host.json's `transportMap` in line with the installed bots: rewrite it (a temporary file
 * renamed over it, mode 0644: Postfix's daemons read it as another user) and rebuild its .db with
 * postmap (`-c postfixConfigDir` when set), only when its text changed or the .db is missing or
 * older. Undefined when host.json has no `transportMap` (the operator routes by hand). E_CONFIG
 * with the fix when it cannot be done.
 */
export async function syncTransportMap(dataDir: string, config: RouteConfig, postmap: Postmap = systemPostmap): Promise<TransportMapSync | undefined> {
  const planned = await plannedTransportMap(dataDir, config);
  if (planned === undefined) return undefined;
  const { file, bots, text } = planned;
  const before = await readFile(file, "utf8").catch(() => undefined);
  if (before === text && tableDbIsCurrent(file)) return { file, bots: bots.length, text, changed: false };
  try {
    await writeFile(`${file}.tmp`, text, { mode: 0o644 });
    // Unsynced: the table is derived from the bots folder and rebuilt at every start of host serve.
    await renameUnsynced(`${file}.tmp`, file);
    await postmap(file, config.postfixConfigDir);
  } catch (error) {
    throw new ChatbotError(
      "E_CONFIG",
      `the transport table ${file} could not be rebuilt (${errorMessage(error).split("\n")[0]}): its folder must be writable by the host's user, postmap (Debian: postfix) installed, and Postfix's main.cf where postmap looks (host.json postfixConfigDir, else $MAIL_CONFIG or /etc/postfix); then run 'chatbot host route'`,
    );
  }
  return { file, bots: bots.length, text, changed: true };
}
