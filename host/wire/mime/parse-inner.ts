// The decrypted inner entity of a Delta Chat 2.x message → the fields the host acts on (PROTOCOL
// §2–6). Header protection (RFC 9788, hp="cipher"): the inner headers are the message's headers and
// the outer ones are ignored, so this reads only the inner entity's own top-level headers — never
// headers of nested parts and never the informational HP-Outer copies.
import { simpleParser, type AddressObject, type Attachment, type HeaderLines, type ParsedMail } from "mailparser";
import { ChatbotError, errorMessage } from "../../../core/errors.js";
import { simplifyChatText } from "./chat-text.js";
import type { MailAddress } from "./compose.js";
import { decodeEncodedWords } from "./encoded-words.js";
import { INNER_MAX_HEADER_BYTES, INNER_MAX_MIME_NODES } from "../../../core/limits.js";

/** What the host reads from a decrypted inner message. */
export interface DeltaInner {
  from: MailAddress | undefined;
  to: MailAddress[];
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  date: Date | undefined;
  subject: string | undefined;
  chatVersion: string | undefined;
  autoSubmitted: string | undefined;
  /** The raw (unfolded) Autocrypt value; undefined when absent or given more than once (Autocrypt §2.3). */
  autocrypt: string | undefined;
  /** Raw (unfolded) Autocrypt-Gossip values. */
  gossip: string[];
  secureJoin: { step: string; auth?: string; invitenumber?: string; fingerprint?: string; groupId?: string } | undefined;
  group: { id: string; name?: string; memberAdded?: string; memberRemoved?: string; nameChanged?: string } | undefined;
  text: string;
  attachments: Array<{ name: string; type: string; data: Uint8Array }>;
  reaction: { emoji: string } | undefined;
  webxdcStatus: { updates: unknown[] } | undefined;
  /** Message-IDs (with angle brackets) from Chat-Delete. */
  deletes: string[];
  /** Message-ID (with angle brackets) from Chat-Edit. */
  edit: string | undefined;
  postMessage: { isPost: boolean; preFor?: string };
  /** Lowercased name → unfolded raw values of the top-level headers, in order. */
  headers: Map<string, string[]>;
}

const STATUS_UPDATE_FILE = "status-update.json";

// RFC 5322 §2.2.3: unfolding removes CRLF (or a maildir's bare LF) before WSP; the WSP stays.
function rawHeaders(lines: HeaderLines): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const { key, line } of lines) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n(?=[ \t])/g, "")
      .trim();
    const list = map.get(key) ?? [];
    list.push(value);
    map.set(key, list);
  }
  return map;
}

function first(headers: Map<string, string[]>, name: string): string | undefined {
  const value = headers.get(name)?.[0];
  return value === undefined || value === "" ? undefined : value;
}

// core mimeparser.rs parse_message_ids: whitespace-separated, angle brackets optional.
function messageIds(value: string | undefined): string[] {
  return (value ?? "")
    .split(/\s+/)
    .map((id) => id.replace(/^</, "").replace(/>$/, ""))
    .filter((id) => id !== "")
    .map((id) => `<${id}>`);
}

function addresses(field: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  const objects = Array.isArray(field) ? field : field ? [field] : [];
  const visit = (entries: AddressObject["value"]) => {
    for (const entry of entries) {
      if (entry.group) visit(entry.group);
      else if (entry.address) out.push(entry.name ? { addr: entry.address.toLowerCase(), name: entry.name } : { addr: entry.address.toLowerCase() });
    }
  };
  for (const object of objects) visit(object.value);
  return out;
}

function disposition(attachment: Attachment): string | undefined {
  const value = attachment.headers.get("content-disposition");
  const text = typeof value === "string" ? value : value && typeof value === "object" && "value" in value ? String(value.value) : undefined;
  return text?.trim().toLowerCase();
}

function statusUpdates(attachment: Attachment): { updates: unknown[] } | undefined {
  try {
    const json: unknown = JSON.parse(attachment.content.toString("utf8"));
    const updates = json && typeof json === "object" ? (json as { updates?: unknown }).updates : undefined;
    return Array.isArray(updates) ? { updates } : undefined;
  } catch {
    return undefined;
  }
}

function decoded(value: string | undefined): string | undefined {
  return value === undefined ? undefined : decodeEncodedWords(value);
}

/** Parse a decrypted inner entity; refuses more than `maxBytes`, malformed or over-nested MIME. */
export async function parseInner(inner: Uint8Array, limits: { maxBytes: number }): Promise<DeltaInner> {
  if (inner.byteLength > limits.maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `inner message is ${inner.byteLength} bytes, over the limit of ${limits.maxBytes} bytes`);
  }
  let parsed: ParsedMail;
  try {
    // mailparser hands these to its splitter (@zone-eu/mailsplit), which stops with EMAXLEN; the
    // typings do not list them, hence the spread.
    const splitterLimits = { maxHeadSize: INNER_MAX_HEADER_BYTES, maxChildNodes: INNER_MAX_MIME_NODES };
    parsed = await simpleParser(Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength), {
      skipHtmlToText: false,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      ...splitterLimits,
    });
  } catch (error) {
    const tooLarge = (error as { code?: unknown } | undefined)?.code === "EMAXLEN";
    throw new ChatbotError(tooLarge ? "E_MAIL_TOO_LARGE" : "E_MAIL_MALFORMED", `inner message could not be parsed: ${errorMessage(error)}`, { cause: error });
  }
  const headers = rawHeaders(parsed.headerLines);
  const header = (name: string) => first(headers, name);

  // core mimeparser.rs: multipart/report; report-type=status-update carries the JSON in part 2.
  const type = parsed.headers.get("content-type") as { value?: string; params?: Record<string, string> } | undefined;
  const isStatusReport = type?.value === "multipart/report" && type.params?.["report-type"]?.toLowerCase() === "status-update";
  let reaction: { emoji: string } | undefined;
  let webxdcStatus: { updates: unknown[] } | undefined;
  const attachments: DeltaInner["attachments"] = [];
  for (const attachment of parsed.attachments) {
    if (attachment.contentType.startsWith("text/") && disposition(attachment) === "reaction") {
      // RFC 9078 / core: the reaction is the part's text, trimmed; empty removes the reaction.
      reaction ??= { emoji: attachment.content.toString("utf8").trim() };
      continue;
    }
    if (isStatusReport && attachment.filename === STATUS_UPDATE_FILE) {
      webxdcStatus ??= statusUpdates(attachment);
      continue;
    }
    attachments.push({
      name: attachment.filename ?? `attachment-${attachments.length + 1}`,
      type: attachment.contentType,
      data: new Uint8Array(attachment.content),
    });
  }

  const step = header("secure-join");
  const groupId = header("chat-group-id");
  const from = addresses(parsed.from)[0];
  const autocrypt = headers.get("autocrypt");
  const postMessageId = messageIds(header("chat-post-message-id"))[0];
  return {
    from,
    to: addresses(parsed.to),
    messageId: parsed.messageId,
    inReplyTo: messageIds(parsed.inReplyTo)[0],
    references: messageIds(Array.isArray(parsed.references) ? parsed.references.join(" ") : parsed.references),
    date: parsed.date,
    subject: parsed.subject,
    chatVersion: header("chat-version"),
    autoSubmitted: header("auto-submitted"),
    autocrypt: autocrypt?.length === 1 ? autocrypt[0] : undefined,
    gossip: headers.get("autocrypt-gossip") ?? [],
    secureJoin:
      step === undefined
        ? undefined
        : {
            step,
            ...optional("auth", header("secure-join-auth")),
            ...optional("invitenumber", header("secure-join-invitenumber")),
            ...optional("fingerprint", header("secure-join-fingerprint")),
            ...optional("groupId", header("secure-join-group")),
          },
    group:
      groupId === undefined
        ? undefined
        : {
            id: groupId,
            ...optional("name", decoded(header("chat-group-name"))),
            ...optional("memberAdded", header("chat-group-member-added")?.toLowerCase()),
            ...optional("memberRemoved", header("chat-group-member-removed")?.toLowerCase()),
            ...optional("nameChanged", decoded(header("chat-group-name-changed"))),
          },
    // A status update's and a reaction's text part is not chat text (core ignores it).
    text: isStatusReport || reaction ? "" : simplifyChatText(parsed.text ?? ""),
    attachments,
    reaction,
    webxdcStatus,
    deletes: messageIds(header("chat-delete")),
    edit: messageIds(header("chat-edit"))[0],
    postMessage: { isPost: header("chat-is-post-message") === "1", ...optional("preFor", postMessageId) },
    headers,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
