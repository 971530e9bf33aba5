// A parsed inner mail → the event a bot gets (DESIGN §3.1): the one mapping from a mail to `msg`
// (or to a webxdc update). The relay calls it on the decrypted, verified inner message (inbound.ts),
// the author's tools on a plaintext mail file (local/local-mail.ts: `chatbot run --mail`, `chatbot
// dev`'s /mail, the test kit's mail()), so the same mail gives a bot the same `msg` everywhere.
import type { Address, ChatRef, GuestEvent, IncomingMessageData } from "../../std/contract.js";
import { parseCommand } from "../mail/command.js";
import type { DeltaInner } from "./mime/parse-inner.js";

/** What the caller knows beyond the mail: who sent it, in which chat, under which id, with which files. */
export interface EventContext {
  /** The message's id: its Message-ID (a split message's: the post-message's). */
  id: string;
  from: Address;
  chat: ChatRef;
  /** The files the bot gets (a split message's come from its post-message). */
  attachments: DeltaInner["attachments"];
  /** The clock when the mail has no Date, ms since the epoch. */
  now: number;
}

/** The bot's event and its files' bytes, or why the mail gives the bot none. */
export type GuestEventOf = { kind: "event"; event: GuestEvent; attachments: Uint8Array[] } | { kind: "drop"; reason: string };

/** A 1:1 chat: its id is the sender's address, its name the sender's name (else the address). */
export function singleChat(from: Address): ChatRef {
  return { id: from.addr, type: "single", name: from.name || from.addr };
}

/** A group chat: its id is "group:" + the Chat-Group-ID. */
export function groupChat(groupId: string, name: string): ChatRef {
  return { id: `group:${groupId}`, type: "group", name };
}

/** Why a mail that deletes or edits a message never reaches a bot (core applies those itself), or undefined. */
export function deleteOrEditReason(inner: Pick<DeltaInner, "deletes" | "edit">): string | undefined {
  return inner.deletes.length > 0 || inner.edit ? "deletions and edits are not passed to bots" : undefined;
}

/** The event `inner` is for a bot: a webxdc status update (every update of the mail, in order) or a message. */
export function guestEventOf(inner: DeltaInner, context: EventContext): GuestEventOf {
  const { from, chat } = context;
  if (inner.webxdcStatus) {
    const instanceId = inner.inReplyTo;
    if (!instanceId) return { kind: "drop", reason: "webxdc status update without In-Reply-To" };
    const updates = inner.webxdcStatus.updates.map((update) => {
      const u = (update ?? {}) as { payload?: unknown; info?: string; summary?: string };
      return { instanceId, from, chat, payload: u.payload ?? null, ...(u.info ? { info: u.info } : {}), ...(u.summary ? { summary: u.summary } : {}) };
    });
    const [first, ...more] = updates;
    if (!first) return { kind: "drop", reason: "empty webxdc status update" };
    // Every update of the mail reaches the bot, in order, in one event (core batches updates sent in quick succession).
    return { kind: "event", event: { kind: "webxdc", update: first, ...(more.length > 0 ? { more } : {}) }, attachments: [] };
  }
  const command = parseCommand(inner.text);
  const message: IncomingMessageData = {
    id: context.id,
    text: inner.text,
    from,
    chat,
    attachments: context.attachments.map((a) => ({ name: a.name, type: a.type, size: a.data.byteLength })),
    ...(command ? { command } : {}),
    date: (inner.date ?? new Date(context.now)).getTime(),
    ...(inner.reaction && inner.inReplyTo ? { reaction: { emoji: inner.reaction.emoji, to: inner.inReplyTo } } : {}),
  };
  return { kind: "event", event: { kind: "message", message }, attachments: context.attachments.map((a) => a.data) };
}
