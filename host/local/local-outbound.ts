// What an author's session (one `chatbot run`, a `chatbot dev` session, a test bot's life) knows of
// what the relay keeps in its stores — the bot's own recent messages (for delete and resend) and who
// wrote in each group (its members, for add-member and a group whose every member sent /stop) — so
// the actions consent kept meet the relay's outbound rules (wire/skip-rules.ts) and a skipped one
// shows the code the relay logs. Not simulated: the peers' keys (E_NO_KEY) and the bot being
// removed from a group (E_NOT_IN_CHAT); a group's members are only those who wrote in it here.
import type { Action, GuestEvent } from "../../std/contract.js";
import { SENT_MAX_AGE_MS, SENT_MAX_MESSAGES } from "../../core/limits.js";
import { stableMessageId } from "../wire/message-id.js";
import { alreadyMemberSkip, everyoneStoppedSkip, referenceSkip, type Skip, type SkipCode } from "../wire/skip-rules.js";

/** An action the relay's outbound rules skip: the run's index of it, its type and chat, the relay's code and reason. */
export interface SkippedAction {
  index: number;
  type: Action["type"];
  chatId: string;
  code: SkipCode;
  reason: string;
}

/** The kept actions the relay would carry out, their run indices, and the skipped ones. */
export interface CarriedOut {
  kept: Action[];
  indices: number[];
  skipped: SkippedAction[];
}

/** How the session's event ran: the seed of its Message-IDs, its clock and the consent records' /stop list. */
export interface OutboundContext {
  botAddr: string;
  eventKey: string;
  /** The event's clock, ms since the epoch. */
  now: number;
  isStopped: (addr: string) => Promise<boolean>;
}

/** One session's view of the relay's sent and group stores, in memory. */
export class LocalOutbound {
  /** Message-ID → the chat it went to and when (ms); oldest first, like the relay's sent store. */
  private readonly sent = new Map<string, { chatId: string; at: number }>();
  /** Group chat id → the lowercased addresses of those who wrote in it. */
  private readonly members = new Map<string, Set<string>>();

  /** Note who wrote in a group: on the relay they are a member with a key. */
  noteIncoming(event: GuestEvent): void {
    const incoming = event.kind === "message" ? event.message : event.kind === "webxdc" ? event.update : undefined;
    if (incoming?.chat.type !== "group") return;
    const members = this.members.get(incoming.chat.id) ?? new Set<string>();
    members.add(incoming.from.addr.toLowerCase());
    this.members.set(incoming.chat.id, members);
  }

  /** The kept actions (`indices`: their run indices) through the relay's outbound rules, in order; remembers what is sent. */
  async carryOut(kept: readonly Action[], indices: readonly number[], context: OutboundContext): Promise<CarriedOut> {
    this.forgetOld(context.now);
    const out: CarriedOut = { kept: [], indices: [], skipped: [] };
    for (const [position, action] of kept.entries()) {
      const index = indices[position]!;
      const skip = await this.skipOf(action, context);
      if (skip) {
        out.skipped.push({ index, type: action.type, chatId: action.chatId, ...skip });
        continue;
      }
      out.kept.push(action);
      out.indices.push(index);
      // A resend is an old mail again (same Message-ID); everything else is a new mail of the bot's.
      if (action.type !== "resend") this.remember(stableMessageId(context.botAddr, context.eventKey, index), action.chatId, context.now);
      if (action.type === "add-member") this.members.set(action.chatId, new Set([...(this.members.get(action.chatId) ?? []), action.addr.toLowerCase()]));
    }
    return out;
  }

  private async skipOf(action: Action, context: OutboundContext): Promise<Skip | undefined> {
    if (action.type === "delete" || action.type === "resend") {
      const notOwn = referenceSkip(action, this.sent.get(action.messageId)?.chatId);
      // A resend goes to the mail's old recipients; a delete request is a new mail into the chat.
      if (notOwn || action.type === "resend") return notOwn;
    }
    const members = [...(this.members.get(action.chatId) ?? [])];
    if (action.type === "add-member") return alreadyMemberSkip(action, context.botAddr, members);
    if (members.length === 0) return undefined;
    for (const member of members) if (!(await context.isStopped(member))) return undefined;
    return everyoneStoppedSkip(action.chatId);
  }

  private remember(messageId: string, chatId: string, at: number): void {
    this.sent.delete(messageId);
    this.sent.set(messageId, { chatId, at });
    // The relay keeps the last SENT_MAX_MESSAGES (1000) of the last SENT_MAX_AGE_MS (7 days).
    while (this.sent.size > SENT_MAX_MESSAGES) this.sent.delete(this.sent.keys().next().value!);
  }

  private forgetOld(now: number): void {
    for (const [id, { at }] of this.sent) {
      if (now - at <= SENT_MAX_AGE_MS) break;
      this.sent.delete(id);
    }
  }
}
