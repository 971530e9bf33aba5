// A plaintext RFC 5322 mail file (sample.eml) → the event a bot gets, exactly as the relay maps the
// decrypted inner message of the same mail: the relay's parser (wire/mime/parse-inner.ts, with
// Delta Chat's chat-text simplification: no quote, footer or forward header) and the relay's
// mapping (wire/guest-event.ts). For `chatbot run --mail`, `chatbot dev`'s /mail and the test kit's
// mail(). What a relay decides from its keys and stores (signatures, duplicates, group membership,
// the halves of a split message) has no local counterpart; a mail the relay drops on its headers
// alone is refused here with the relay's reason (E_MAIL_DROPPED).
import { createHash } from "node:crypto";
import type { GuestEvent } from "../../std/contract.js";
import { ChatbotError } from "../../core/errors.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { parseInner, type DeltaInner } from "../wire/mime/parse-inner.js";
import { autoResponseReason, innerAutomationRefusal } from "../wire/automated-mail.js";
import { deleteOrEditReason, groupChat, guestEventOf, singleChat } from "../wire/guest-event.js";
import { isValidGroupId } from "../wire/group-store.js";

/** A mail file as a bot event. */
export interface LocalMail {
  event: GuestEvent;
  /** The bytes of the message's files, in the order of `msg.attachments`. */
  attachments: Uint8Array[];
  /** The event key (seed of the bot's Message-IDs): the mail's Message-ID, as on the relay. */
  key: string;
}

/**
 * Why a relay would not run the bot on this mail, judged from its headers alone (inbound.ts takes
 * the same decisions with its stores), or undefined.
 */
function dropReason(inner: DeltaInner): string | undefined {
  // A file is the inner and the outer mail at once: its Auto-Submitted is both verdicts.
  const automated = innerAutomationRefusal(inner, autoResponseReason(inner.headers));
  if (automated) return automated;
  if (inner.secureJoin) return `SecureJoin step ${inner.secureJoin.step}: the host answers it, the bot never sees it`;
  if (inner.postMessage.isPost || inner.postMessage.preFor !== undefined)
    return "half of a split message (Chat-Is-Post-Message / Chat-Post-Message-ID): the relay holds it until the other half arrives";
  const group = inner.group;
  if (group && !isValidGroupId(group.id)) return `invalid group id "${group.id}"`;
  if (group && (group.memberAdded || group.memberRemoved || (group.nameChanged !== undefined && group.name)))
    return "a group membership or name change: the relay records it and does not run the bot";
  return deleteOrEditReason(inner);
}

/** Parse a mail file; refuses input over `maxBytes` before the parser sees it (E_MAIL_TOO_LARGE). */
export async function parseLocalMail(raw: Uint8Array, options: { maxBytes?: number; clock?: Clock } = {}): Promise<LocalMail> {
  const maxBytes = options.maxBytes ?? MAIL_MAX_BYTES;
  if (raw.byteLength > maxBytes) {
    throw new ChatbotError("E_MAIL_TOO_LARGE", `mail is ${raw.byteLength} bytes, over the limit of ${maxBytes} bytes`);
  }
  const inner = await parseInner(raw, { maxBytes });
  if (!inner.from) throw new ChatbotError("E_MAIL_MALFORMED", "mail has no From address");
  const dropped = dropReason(inner);
  if (dropped) throw new ChatbotError("E_MAIL_DROPPED", `a relay drops this mail without running the bot: ${dropped}`);

  // A relay drops a mail without Message-ID (every Delta Chat client sets one); a hand-written file
  // may lack it, so it gets one derived from its bytes: the same file, the same id.
  const id = inner.messageId ?? `<${createHash("sha256").update(raw).digest("hex").slice(0, 32)}@chatbot.local>`;
  const from = { addr: inner.from.addr, name: inner.from.name ?? "" };
  const chat = inner.group ? groupChat(inner.group.id, inner.group.name ?? "") : singleChat(from);
  const made = guestEventOf(inner, { id, from, chat, attachments: inner.attachments, now: (options.clock ?? systemClock).now() });
  if (made.kind === "drop") throw new ChatbotError("E_MAIL_DROPPED", `a relay drops this mail without running the bot: ${made.reason}`);
  return { event: made.event, attachments: made.attachments, key: id };
}
