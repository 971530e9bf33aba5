// The host's config, <data>/host.json, parsed once at the edge (STYLE principle 8): unknown keys
// are errors with their path, defaults are filled in, the result is frozen.
import { readFile } from "node:fs/promises";
import { ChatbotError, errorMessage } from "../../core/errors.js";
import { DEFAULT_BOT_LIMITS, DEFAULT_EVENT_LIMITS, DEFAULT_PER_USER_LIMITS, type BotLimits, type EventLimits, type PerUserLimits, DEFAULT_SEND_PACING, type SendPacing } from "../../core/limits.js";
import { writeJsonFile } from "../storage/json-file.js";
import { IMAP_SECURITIES, type ImapSecurity, type ImapSettings } from "../deploy/imap-settings.js";
import { DEFAULT_LMTP_SOCKET } from "./paths.js";

/** How the host submits the bots' mail. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Accept the relay's self-signed certificate (it runs on the same machine). */
  allowSelfSigned: boolean;
}

/** How the host reaches the bots' mailboxes over IMAP (deploys from ChatbotInstall, the daily login). */
export interface HostImapSettings extends ImapSettings {
  /**
   * Seconds between two looks into each bot's ChatbotInstall folder; 0 turns the look-ups off
   * except the daily login that keeps the account alive (ACCOUNT_REFRESH_MS).
   */
  pollSeconds: number;
}

/** The parsed, complete host config. */
export interface HostConfig {
  smtp: Readonly<SmtpSettings>;
  imap: Readonly<HostImapSettings>;
  /** The LMTP socket Postfix delivers bot mail to (default DEFAULT_LMTP_SOCKET, outside the 0700 data directory). */
  lmtpSocket: string;
  /** The group the socket must have (mode 0660), so Postfix's lmtp client can connect, e.g. "postfix"; checked when `host serve` starts. */
  lmtpSocketGroup: string | undefined;
  /** Events run at once (one sandbox runner each). */
  concurrency: number;
  /** Tries before a mail goes to the dead-letter folder. */
  maxAttempts: number;
  /**
   * The operator's ceilings: manifests may only ask for less. `bot` is each bot's CPU budget over
   * all its users (host/policy/cpu-budget.ts); a manifest cannot ask for it at all.
   */
  ceilings: { event: Readonly<EventLimits>; perUser: Readonly<PerUserLimits>; bot: Readonly<BotLimits> };
  /** Outbound pacing per bot account, under the relay's send rate (chatmail: 60/min, burst 10). */
  pacing: Readonly<SendPacing>;
  /** Fetch origins approved for every bot (per-bot approvals are in bot.json). */
  approvedOrigins: readonly string[];
}

type Json = Record<string, unknown>;

function fail(file: string, path: string, problem: string): never {
  throw new ChatbotError("E_CONFIG", `${file}: "${path}" ${problem}`);
}

function object(file: string, path: string, value: unknown, allowed: readonly string[]): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(file, path, "must be an object");
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(file, path ? `${path}.${key}` : key, "is not a known setting");
  return value as Json;
}

function positiveInt(file: string, path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 0) fail(file, path, `must be a whole number ≥ 0, not ${JSON.stringify(value)}`);
  return value as number;
}

function limits<T extends object>(file: string, path: string, value: unknown, defaults: Readonly<T>): Readonly<T> {
  if (value === undefined) return defaults;
  const given = object(file, path, value, Object.keys(defaults));
  const result = { ...defaults } as Record<string, number>;
  for (const key of Object.keys(defaults)) result[key] = positiveInt(file, `${path}.${key}`, given[key], (defaults as Record<string, number>)[key]!);
  return Object.freeze(result) as unknown as Readonly<T>;
}

/** Parse a host config object; `file` names it in error messages. */
export function parseHostConfig(raw: unknown, file: string): Readonly<HostConfig> {
  const top = object(file, "", raw, ["smtp", "imap", "lmtpSocket", "lmtpSocketGroup", "concurrency", "maxAttempts", "ceilings", "approvedOrigins", "pacing"]);
  const smtp = object(file, "smtp", top.smtp ?? {}, ["host", "port", "secure", "allowSelfSigned"]);
  if (smtp.host !== undefined && typeof smtp.host !== "string") fail(file, "smtp.host", "must be a host name");
  for (const flag of ["secure", "allowSelfSigned"] as const) if (smtp[flag] !== undefined && typeof smtp[flag] !== "boolean") fail(file, `smtp.${flag}`, "must be true or false");
  const imap = object(file, "imap", top.imap ?? {}, ["host", "port", "security", "allowSelfSigned", "pollSeconds"]);
  if (imap.host !== undefined && typeof imap.host !== "string") fail(file, "imap.host", "must be a host name");
  if (imap.security !== undefined && !IMAP_SECURITIES.includes(imap.security as ImapSecurity)) fail(file, "imap.security", `must be one of ${IMAP_SECURITIES.join(", ")}`);
  if (imap.allowSelfSigned !== undefined && typeof imap.allowSelfSigned !== "boolean") fail(file, "imap.allowSelfSigned", "must be true or false");
  const ceilings = object(file, "ceilings", top.ceilings ?? {}, ["event", "perUser", "bot"]);
  const origins = top.approvedOrigins ?? [];
  if (!Array.isArray(origins) || !origins.every((o) => typeof o === "string")) fail(file, "approvedOrigins", "must be a list of origins");
  if (top.lmtpSocket !== undefined && typeof top.lmtpSocket !== "string") fail(file, "lmtpSocket", "must be a path");
  if (top.lmtpSocketGroup !== undefined && (typeof top.lmtpSocketGroup !== "string" || !/^[a-z_][a-z0-9_-]*$/.test(top.lmtpSocketGroup))) fail(file, "lmtpSocketGroup", "must be a group name");
  const concurrency = positiveInt(file, "concurrency", top.concurrency, 1);
  if (concurrency < 1) fail(file, "concurrency", "must be at least 1");
  return Object.freeze({
    smtp: Object.freeze({
      host: (smtp.host as string | undefined) ?? "127.0.0.1",
      port: positiveInt(file, "smtp.port", smtp.port, 587),
      secure: (smtp.secure as boolean | undefined) ?? false,
      allowSelfSigned: (smtp.allowSelfSigned as boolean | undefined) ?? true,
    }),
    // The relay's Dovecot on the same machine, like SMTP: STARTTLS with its certificate, whatever name it has.
    imap: Object.freeze({
      host: (imap.host as string | undefined) ?? "127.0.0.1",
      port: positiveInt(file, "imap.port", imap.port, 143),
      security: (imap.security as ImapSecurity | undefined) ?? "starttls",
      allowSelfSigned: (imap.allowSelfSigned as boolean | undefined) ?? true,
      pollSeconds: positiveInt(file, "imap.pollSeconds", imap.pollSeconds, 300),
    }),
    lmtpSocket: (top.lmtpSocket as string | undefined) ?? DEFAULT_LMTP_SOCKET,
    lmtpSocketGroup: top.lmtpSocketGroup as string | undefined,
    concurrency,
    maxAttempts: positiveInt(file, "maxAttempts", top.maxAttempts, 10),
    pacing: limits(file, "pacing", top.pacing, DEFAULT_SEND_PACING),
    ceilings: Object.freeze({
      event: limits(file, "ceilings.event", ceilings.event, DEFAULT_EVENT_LIMITS),
      perUser: limits(file, "ceilings.perUser", ceilings.perUser, DEFAULT_PER_USER_LIMITS),
      bot: limits(file, "ceilings.bot", ceilings.bot, DEFAULT_BOT_LIMITS),
    }),
    approvedOrigins: Object.freeze([...(origins as string[])]),
  });
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
