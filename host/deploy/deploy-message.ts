// The deploy message (`chatbot deploy`, README "Deploying a bot"): one mail that an author appends
// to the ChatbotInstall folder of the bot's own account, and that the host turns back into a bundle
// folder. Pure: compose and parse only; the IMAP side is imap-mailbox.ts, the install side
// host/service/deploy-watcher.ts.
//
//   Subject: chatbot deploy <name> <version> sha256=<hex of bot.js>
//   X-Chatbot-Deploy: 1
//   multipart/mixed: a text/plain note for a person who opens the folder, then attachments
//   chatbot.json, bot.js, bot.js.map (optional) and password (the account's own password).
//
// A control deploy (`chatbot deploy --pause`, `--resume`, `--remove`) has the header
// X-Chatbot-Deploy-Action: pause|resume|remove and only the password attached.
//
// The password is the only secret in it. It is there because it proves authorship: only someone
// who holds the account's password can have written it, whatever else can put mail into a folder
// (e.g. a relay delivering `bot+ChatbotInstall@…` there via lmtp_save_to_detail_mailbox); the host
// refuses a deploy whose password is not the one it logs in with. The bot's OpenPGP key never
// leaves the host, which makes its own (host/wire/pgp/identity.ts).
import { createHash, timingSafeEqual } from "node:crypto";
import { simpleParser } from "mailparser";
import { domainOf, isAccountAddress } from "../../core/address.js";
import { ChatbotError } from "../../core/errors.js";
import {
  BUNDLE_MAX_BYTES,
  DEPLOY_MANIFEST_MAX_BYTES,
  DEPLOY_MESSAGE_MAX_BYTES,
  DEPLOY_PASSWORD_MAX_BYTES,
  DEPLOY_SOURCE_MAP_MAX_BYTES,
  HEADER_SCAN_BYTES,
} from "../../core/limits.js";
import { headerBlock } from "../mail/header-block.js";
import { formatDate } from "../wire/mime/header-format.js";
import { newMessageId } from "../wire/mime/compose.js";

/** The IMAP folder of the bot account that deploys go to (created by `chatbot deploy` when missing). */
export const DEPLOY_FOLDER = "ChatbotInstall";
/** Where the host moves a deploy it refused (path below DEPLOY_FOLDER, joined with the server's delimiter). */
export const REFUSED_FOLDER: readonly string[] = [DEPLOY_FOLDER, "Refused"];
/** The header that marks a deploy message; its value is the format version. */
export const DEPLOY_HEADER = "X-Chatbot-Deploy";
/** The header that makes a deploy a control deploy: pause, resume or remove the account's bot. */
export const DEPLOY_ACTION_HEADER = "X-Chatbot-Deploy-Action";
/** What a control deploy asks the host to do with the account's bot. */
export const DEPLOY_ACTIONS = ["pause", "resume", "remove"] as const;
export type DeployAction = (typeof DEPLOY_ACTIONS)[number];
/** The only format version so far. */
const DEPLOY_FORMAT = "1";

/** Attachment names, and the file names they get in a bundle folder. */
export const DEPLOY_PARTS = Object.freeze({ manifest: "chatbot.json", bundle: "bot.js", sourceMap: "bot.js.map", password: "password" });

/** What a deploy carries. */
export interface DeployContent {
  /** dist/chatbot.json as built (bytes, not re-serialized: its sha256 record must stay exact). */
  manifest: Uint8Array;
  /** dist/bot.js. */
  bundle: Uint8Array;
  /** dist/bot.js.map, when there is one. */
  sourceMap?: Uint8Array;
  /** The bot account's password. */
  password: string;
}

/** A parsed deploy: its content, the sha256 its subject names, and what the subject says it is. */
export interface ParsedDeploy extends DeployContent {
  action: "install";
  /** The account the deploy names (its To: address, lowercase; "" when it names none). */
  addr: string;
  /** SHA-256 of `bundle` as the subject states it (checked against the bundle's bytes by the parser). */
  sha256: string;
  subject: string;
}

/** A parsed control deploy: pause, resume or remove the account's bot. */
export interface ParsedControl {
  action: DeployAction;
  addr: string;
  password: string;
}

const CAPS: Record<string, number> = {
  [DEPLOY_PARTS.manifest]: DEPLOY_MANIFEST_MAX_BYTES,
  [DEPLOY_PARTS.bundle]: BUNDLE_MAX_BYTES,
  [DEPLOY_PARTS.sourceMap]: DEPLOY_SOURCE_MAP_MAX_BYTES,
  [DEPLOY_PARTS.password]: DEPLOY_PASSWORD_MAX_BYTES,
};
const MIME_TYPES: Record<string, string> = {
  [DEPLOY_PARTS.manifest]: "application/json",
  [DEPLOY_PARTS.bundle]: "text/javascript",
  [DEPLOY_PARTS.sourceMap]: "application/json",
  [DEPLOY_PARTS.password]: "text/plain",
};

function deployError(message: string): ChatbotError {
  return new ChatbotError("E_DEPLOY", `deploy message: ${message}`);
}

/** Lowercase hex SHA-256 of some bytes. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Throw E_DEPLOY when `bytes` is over the cap of attachment `name`; exactly at the cap passes. */
export function checkPartSize(name: string, bytes: number): void {
  const cap = CAPS[name];
  if (cap === undefined) throw deployError(`unexpected attachment "${name}" (a deploy has ${Object.values(DEPLOY_PARTS).join(", ")})`);
  if (bytes > cap) throw deployError(`${name} is ${bytes} bytes, over the host's cap of ${cap}`);
}

/** The name, version and bundle sha256 recorded in a built manifest's bytes (for the subject). */
function manifestSummary(manifest: Uint8Array): { name: string; version: string; sha256: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(manifest).toString("utf8"));
  } catch {
    throw deployError(`${DEPLOY_PARTS.manifest} is not JSON`);
  }
  const m = raw as { name?: unknown; version?: unknown; bundle?: { file?: unknown; sha256?: unknown } };
  if (typeof m.name !== "string" || typeof m.version !== "string") throw deployError(`${DEPLOY_PARTS.manifest} has no name or version`);
  if (m.bundle?.file !== DEPLOY_PARTS.bundle || typeof m.bundle.sha256 !== "string") {
    throw deployError(`${DEPLOY_PARTS.manifest} has no "bundle" record for ${DEPLOY_PARTS.bundle}: deploy the output of 'chatbot build'`);
  }
  return { name: m.name, version: m.version, sha256: m.bundle.sha256 };
}

/** Base64 in lines of 76 characters (RFC 2045 §6.8), CRLF-terminated. */
function base64Lines(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString("base64");
  let out = "";
  for (let i = 0; i < text.length; i += 76) out += `${text.slice(i, i + 76)}\r\n`;
  return out;
}

/**
 * The deploy message for `addr` (CRLF line ends, ready for IMAP APPEND). Refuses content over the
 * caps, so an author learns it before uploading rather than from the host's refusal.
 */
export function composeDeployMessage(addr: string, content: DeployContent, date: Date = new Date()): string {
  const parts: Array<[string, Uint8Array]> = [
    [DEPLOY_PARTS.manifest, content.manifest],
    [DEPLOY_PARTS.bundle, content.bundle],
    ...(content.sourceMap ? ([[DEPLOY_PARTS.sourceMap, content.sourceMap]] as Array<[string, Uint8Array]>) : []),
    [DEPLOY_PARTS.password, Buffer.from(content.password, "utf8")],
  ];
  for (const [name, bytes] of parts) checkPartSize(name, bytes.byteLength);
  if (!isAccountAddress(addr)) throw deployError(`not an address: ${JSON.stringify(addr)}`);
  if (/[\r\n]/.test(content.password)) throw deployError("the password must be one line");
  const summary = manifestSummary(content.manifest);
  if (summary.sha256 !== sha256Hex(content.bundle))
    throw deployError(`${DEPLOY_PARTS.bundle} does not match the sha256 in ${DEPLOY_PARTS.manifest}: run 'chatbot build' again`);
  // Name and version are [a-z0-9.-_] and semver (core/manifest.ts), but the manifest is only
  // parsed by the host: keep the subject to printable ASCII whatever it holds.
  const label = `${summary.name} ${summary.version}`.replace(/[^\x20-\x7e]/g, "?").slice(0, 120);
  const boundary = `chatbot-deploy-${sha256Hex(content.bundle).slice(0, 24)}`;
  let mail =
    `From: <${addr}>\r\nTo: <${addr}>\r\nDate: ${formatDate(date)}\r\nMessage-ID: ${newMessageId(domainOf(addr))}\r\n` +
    `Subject: chatbot deploy ${label} sha256=${summary.sha256}\r\n${DEPLOY_HEADER}: ${DEPLOY_FORMAT}\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n` +
    `A bot deployed with 'chatbot deploy' (${label}). The chatbot host of this relay installs it\r\n` +
    `from this folder and then deletes this message; a refused deploy is moved to ${REFUSED_FOLDER.join("/")}.\r\n`;
  for (const [name, bytes] of parts) {
    mail +=
      `--${boundary}\r\nContent-Type: ${MIME_TYPES[name]}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(bytes)}`;
  }
  return `${mail}--${boundary}--\r\n`;
}

/** The control deploy that pauses, resumes or removes the bot at `addr` (CRLF line ends). */
export function composeControlMessage(addr: string, action: DeployAction, password: string, date: Date = new Date()): string {
  checkPartSize(DEPLOY_PARTS.password, Buffer.byteLength(password, "utf8"));
  if (!isAccountAddress(addr)) throw deployError(`not an address: ${JSON.stringify(addr)}`);
  if (/[\r\n]/.test(password)) throw deployError("the password must be one line");
  const boundary = `chatbot-deploy-${action}-${Date.now().toString(36)}`;
  return (
    `From: <${addr}>\r\nTo: <${addr}>\r\nDate: ${formatDate(date)}\r\nMessage-ID: ${newMessageId(domainOf(addr))}\r\n` +
    `Subject: chatbot deploy --${action}\r\n${DEPLOY_HEADER}: ${DEPLOY_FORMAT}\r\n${DEPLOY_ACTION_HEADER}: ${action}\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n` +
    `'chatbot deploy --${action}': the chatbot host of this relay acts on it and then deletes this message.\r\n` +
    `--${boundary}\r\nContent-Type: text/plain; name="${DEPLOY_PARTS.password}"\r\nContent-Disposition: attachment; filename="${DEPLOY_PARTS.password}"\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(Buffer.from(password, "utf8"))}--${boundary}--\r\n`
  );
}

/** True when the two passwords are equal (constant time for equal lengths). */
export function samePassword(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the message's header block (within its first HEADER_SCAN_BYTES) has an X-Chatbot-Deploy field. */
export function hasDeployHeader(raw: Uint8Array): boolean {
  return new RegExp(`^${DEPLOY_HEADER}:`, "im").test(headerBlock(raw, HEADER_SCAN_BYTES));
}

/**
 * The account a deploy names and the password it carries, without the other checks (those are the
 * installer's): what the deploy door needs to log in as the account. Undefined when the message is
 * over the cap or has no one-line password attachment within its cap.
 */
export async function readDeployCredentials(raw: Uint8Array): Promise<{ addr: string; password: string } | undefined> {
  if (raw.byteLength > DEPLOY_MESSAGE_MAX_BYTES) return undefined;
  const parsed = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const part = parsed.attachments.find((a) => a.filename === DEPLOY_PARTS.password);
  if (!part || part.content.byteLength > DEPLOY_PASSWORD_MAX_BYTES) return undefined;
  const password = part.content.toString("utf8").trim();
  if (password === "" || /[\r\n]/.test(password)) return undefined;
  const to = parsed.to === undefined ? [] : Array.isArray(parsed.to) ? parsed.to : [parsed.to];
  return { addr: (to[0]?.value[0]?.address ?? "").toLowerCase(), password };
}

/**
 * Parse a deploy message. Checks the marker header, the size of the whole and of each part, that
 * every required part is there exactly once and nothing else is, and that the subject's sha256 is
 * the bundle's. The manifest itself is checked by the installer (readBundleFolder).
 */
export async function parseDeployMessage(raw: Uint8Array): Promise<ParsedDeploy | ParsedControl> {
  if (raw.byteLength > DEPLOY_MESSAGE_MAX_BYTES) throw deployError(`${raw.byteLength} bytes, over the host's cap of ${DEPLOY_MESSAGE_MAX_BYTES}`);
  const parsed = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const marker = parsed.headers.get(DEPLOY_HEADER.toLowerCase());
  if (marker !== DEPLOY_FORMAT) throw deployError(`no "${DEPLOY_HEADER}: ${DEPLOY_FORMAT}" header (found ${JSON.stringify(marker ?? null)})`);
  const files = new Map<string, Buffer>();
  for (const attachment of parsed.attachments) {
    const name = attachment.filename ?? "(no name)";
    checkPartSize(name, attachment.content.byteLength);
    if (files.has(name)) throw deployError(`${name} is attached twice`);
    files.set(name, attachment.content);
  }
  const need = (name: string): Buffer => {
    const file = files.get(name);
    if (!file) throw deployError(`${name} is missing`);
    return file;
  };
  const to = parsed.to === undefined ? [] : Array.isArray(parsed.to) ? parsed.to : [parsed.to];
  const addr = (to[0]?.value[0]?.address ?? "").toLowerCase();
  const action = parsed.headers.get(DEPLOY_ACTION_HEADER.toLowerCase());
  if (action !== undefined) {
    if (typeof action !== "string" || !(DEPLOY_ACTIONS as readonly string[]).includes(action))
      throw deployError(`"${DEPLOY_ACTION_HEADER}" must be one of ${DEPLOY_ACTIONS.join(", ")} (found ${JSON.stringify(action)})`);
    const extra = [...files.keys()].filter((name) => name !== DEPLOY_PARTS.password);
    if (extra.length > 0) throw deployError(`a --${action} deploy carries only the password, not ${extra.join(", ")}`);
    return { action: action as DeployAction, addr, password: need(DEPLOY_PARTS.password).toString("utf8").trim() };
  }
  const manifest = need(DEPLOY_PARTS.manifest);
  const bundle = need(DEPLOY_PARTS.bundle);
  const password = need(DEPLOY_PARTS.password).toString("utf8").trim();
  const subject = parsed.subject ?? "";
  const stated = /\bsha256=([0-9a-f]{64})\b/.exec(subject)?.[1];
  if (!stated) throw deployError(`the subject names no sha256 (${JSON.stringify(subject.slice(0, 200))})`);
  if (stated !== sha256Hex(bundle)) throw deployError(`${DEPLOY_PARTS.bundle} does not match the sha256 in the subject: it was changed after 'chatbot deploy'`);
  const sourceMap = files.get(DEPLOY_PARTS.sourceMap);
  return { action: "install", addr, manifest, bundle, ...(sourceMap ? { sourceMap } : {}), password, sha256: stated, subject };
}
