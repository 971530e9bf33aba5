// The host's config, <data>/host.json, parsed once at the edge (STYLE principle 8) with one valibot
// schema (its type, its checks and their key paths): unknown keys are errors with their path,
// defaults are filled in, the result is frozen.
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { ChatbotError, errorMessage } from "../../core/errors.js";
import {
  DEFAULT_BOT_LIMITS,
  DEFAULT_EVENT_LIMITS,
  DEFAULT_PER_USER_LIMITS,
  DEFAULT_RELAY_QUOTAS,
  DEFAULT_SEND_PACING,
  PIPELINE_REST_AFTER_MS,
} from "../../core/limits.js";
import { deepFreeze, parseOrThrow, strict } from "../../core/schema-issues.js";
import { writeJsonFile } from "../storage/json-file.js";
import { IMAP_SECURITIES } from "../deploy/imap-settings.js";
import { DEFAULT_LMTP_SOCKET } from "./paths.js";
import { WALL_LAYERS } from "../confine/wall-report.js";

const UNKNOWN = "is not a known setting";
const REQUIRE_WALLS = `must be "all" or a list of layers from ${WALL_LAYERS.join(", ")}`;
const TRUE_OR_FALSE = "must be true or false";

/** An object of settings: an unknown key "is not a known setting" at its path. */
function settings<const E extends v.ObjectEntries>(entries: E) {
  return strict(entries, {}, UNKNOWN);
}

/** A whole number ≥ 0, `fallback` when absent. */
function count(fallback: number) {
  const message = (issue: v.BaseIssue<unknown>) => `must be a whole number ≥ 0, not ${JSON.stringify(issue.input)}`;
  return v.optional(v.pipe(v.number(message), v.integer(message), v.minValue(0, message)), fallback);
}

/** A set of limits: each key a count, each missing key its default. */
function limits<T extends Readonly<Record<string, number>>>(defaults: T) {
  const entries = {} as { [K in keyof T]: ReturnType<typeof count> };
  for (const key of Object.keys(defaults) as Array<keyof T>) entries[key] = count(defaults[key]!);
  return v.optional(settings(entries), {});
}

// `null` for a section reads as the section left out, as the old `top.smtp ?? {}` did.
const hostConfigSchema = settings({
  /** How the host submits the bots' mail. */
  smtp: v.nullish(
    settings({
      host: v.optional(v.string("must be a host name"), "127.0.0.1"),
      port: count(587),
      /** Implicit TLS (465); otherwise STARTTLS when the server offers it. */
      secure: v.optional(v.boolean(TRUE_OR_FALSE), false),
      /** Accept the relay's self-signed certificate (it runs on the same machine). */
      allowSelfSigned: v.optional(v.boolean(TRUE_OR_FALSE), true),
    }),
    {},
  ),
  /** How the host reaches the bots' mailboxes over IMAP (deploys from ChatbotInstall, the daily login). */
  // The relay's Dovecot on the same machine, like SMTP: STARTTLS with its certificate, whatever name it has.
  imap: v.nullish(
    settings({
      host: v.optional(v.string("must be a host name"), "127.0.0.1"),
      port: count(143),
      security: v.optional(v.picklist(IMAP_SECURITIES, `must be one of ${IMAP_SECURITIES.join(", ")}`), "starttls"),
      allowSelfSigned: v.optional(v.boolean(TRUE_OR_FALSE), true),
      /**
       * Seconds between two looks into each bot's ChatbotInstall folder; 0 turns the look-ups off
       * except the daily login that keeps the account alive (ACCOUNT_REFRESH_MS). Default 300, or
       * 0 when host.json has a deployInbox (pollSecondsGiven).
       */
      pollSeconds: count(300),
    }),
    {},
  ),
  /** The LMTP socket Postfix delivers bot mail to (default DEFAULT_LMTP_SOCKET, outside the 0700 data directory). */
  lmtpSocket: v.optional(v.string("must be a path"), DEFAULT_LMTP_SOCKET),
  /** The group the socket must have (mode 0660), so Postfix's lmtp client can connect, e.g. "postfix"; checked when `host serve` starts. */
  lmtpSocketGroup: v.optional(v.pipe(v.string("must be a group name"), v.regex(/^[a-z_][a-z0-9_-]*$/, "must be a group name"))),
  /**
   * A Postfix transport table the host keeps (transport-map.ts): one line per installed bot, so a
   * new bot needs no operator step; Postfix reads it as `transport_maps = hash:THIS`. An absolute
   * path in a folder the host's user may write and Postfix may read. Absent: routes are the operator's.
   */
  transportMap: v.optional(v.pipe(v.string("must be an absolute path"), v.startsWith("/", "must be an absolute path"))),
  /** What the table sends bot mail to (default: the LMTP socket, `lmtp:unix:chatbot/lmtp.sock` for the default one). */
  transportNexthop: v.optional(
    v.pipe(v.string("must be a Postfix next hop"), v.regex(/^[a-z][a-z0-9_-]*:\S*$/, "must be a Postfix next hop such as lmtp:unix:chatbot/lmtp.sock")),
  ),
  /**
   * The deploy inbox (deploy-inbox.ts): a folder Dovecot's IMAPSieve hook drops each deploy appended
   * to any account's ChatbotInstall folder into, so any account deploys its own bot within seconds
   * (`chatbot host setup` makes it: the host user's, group vmail, 2770). Absent: deploys of
   * installed bots are still found by the IMAP poll (imap.pollSeconds).
   */
  deployInbox: v.optional(v.pipe(v.string("must be an absolute path"), v.startsWith("/", "must be an absolute path"))),
  /**
   * The relay bot host (host-bot.ts): an installed bot that is the host's own voice. The host sends
   * its notices to deploying accounts from it (author-notices.ts). Absent: notices are only logged.
   */
  hostBot: v.optional(v.pipe(v.string("must be an address"), v.email("must be an address"))),
  /** Postfix's config folder for `postmap -c` when the host rebuilds transportMap (a second Postfix instance); absent: postmap's own ($MAIL_CONFIG or /etc/postfix). */
  postfixConfigDir: v.optional(v.pipe(v.string("must be an absolute path"), v.startsWith("/", "must be an absolute path"))),
  /**
   * Seconds `host serve`'s pipeline process (decrypt, sandbox, encrypt, SMTP, ticks, deploys) waits
   * with nothing to do before it rests, leaving only the door (LMTP, spool) until the next mail or
   * due time (pipeline-process.ts); 0: it never rests (a relay busy enough that a start on the next
   * mail, ~0.8 s of CPU, costs more than the ~35 MiB it frees).
   */
  pipelineRestSeconds: count(PIPELINE_REST_AFTER_MS / 1000),
  /** Events run at once (one sandbox runner each). */
  concurrency: v.pipe(count(1), v.minValue(1, "must be at least 1")),
  /** Tries before a mail goes to the dead-letter folder. */
  maxAttempts: count(10),
  /** Outbound pacing per bot account, under the relay's send rate (chatmail: 60/min, burst 10). */
  pacing: limits(DEFAULT_SEND_PACING),
  /**
   * The operator's ceilings: manifests may only ask for less. `bot` is each bot's CPU budget over
   * all its users (host/policy/cpu-budget.ts); a manifest cannot ask for it at all.
   */
  ceilings: v.nullish(
    settings({
      event: limits(DEFAULT_EVENT_LIMITS),
      perUser: limits(DEFAULT_PER_USER_LIMITS),
      bot: limits(DEFAULT_BOT_LIMITS),
    }),
    {},
  ),
  /**
   * Walls around the bots' runners (issue 12) the host must not start without: a list of layers
   * (network, filesystem, identity, resources, cgroup, lifetime) or "all". Default none: every
   * layer that works is used anyway, and the `runner.walls` log line says which.
   */
  requireWalls: v.optional(v.union([v.literal("all"), v.array(v.picklist(WALL_LAYERS, REQUIRE_WALLS))], REQUIRE_WALLS), []),
  /** What unattended bots may have on this relay (core/limits.ts RelayQuotas): checked at every install. */
  quotas: limits(DEFAULT_RELAY_QUOTAS),
  /** Fetch origins approved for every bot (per-bot approvals are in bot.json). */
  approvedOrigins: v.nullish(v.array(v.string("must be a list of origins"), "must be a list of origins"), []),
});

/** The parsed, complete host config. */
export type HostConfig = v.InferOutput<typeof hostConfigSchema> & {
  lmtpSocketGroup: string | undefined;
  deployInbox: string | undefined;
  hostBot: string | undefined;
  transportMap: string | undefined;
  transportNexthop: string | undefined;
  postfixConfigDir: string | undefined;
};
/** How the host submits the bots' mail. */
export type SmtpSettings = HostConfig["smtp"];
/** How the host reaches the bots' mailboxes over IMAP. */
export type HostImapSettings = HostConfig["imap"];

/** Parse a host config object; `file` names it in error messages (every problem, one line each). */
export function parseHostConfig(raw: unknown, file: string): Readonly<HostConfig> {
  const config = parseOrThrow(hostConfigSchema, raw, file, "E_CONFIG", "at-path");
  return deepFreeze({
    ...config,
    imap: config.deployInbox !== undefined && !pollSecondsGiven(raw) ? { ...config.imap, pollSeconds: 0 } : config.imap,
    lmtpSocketGroup: config.lmtpSocketGroup,
    deployInbox: config.deployInbox,
    hostBot: config.hostBot?.toLowerCase(),
    transportMap: config.transportMap,
    transportNexthop: config.transportNexthop,
    postfixConfigDir: config.postfixConfigDir,
  });
}

/**
 * Whether host.json names imap.pollSeconds itself. With a deploy inbox the poll is only a fallback
 * (every deploy reaches the host through the inbox within seconds), so it defaults to 0 there: at
 * the default 300 s, 10 000 bots would ask for 33 IMAP logins a second, where the daily login alone
 * asks for one every ~9 s (issue 15: nothing per bot beyond the daily refresh). An operator's own
 * value is kept.
 */
function pollSecondsGiven(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null) return false;
  const imap = (raw as { imap?: unknown }).imap;
  return typeof imap === "object" && imap !== null && (imap as { pollSeconds?: unknown }).pollSeconds !== undefined;
}

/** Read and parse <data>/host.json; a missing file says to run `chatbot host init`. */
export async function loadHostConfig(file: string, dataDir: string): Promise<Readonly<HostConfig>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ChatbotError("E_CONFIG", `${file} not found: run 'chatbot host init --data-dir ${dataDir}' first`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ChatbotError("E_CONFIG", `${file}: not valid JSON (${errorMessage(error)})`);
  }
  return parseHostConfig(raw, file);
}

/** Write a host config file (0600). */
export function saveHostConfig(file: string, config: Partial<Record<keyof HostConfig, unknown>>): Promise<void> {
  return writeJsonFile(file, config);
}
