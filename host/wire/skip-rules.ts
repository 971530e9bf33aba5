// The outbound rules that skip a bot's action, with the code the relay logs (`skipped` of a
// bot.event line): one place for the codes and their reasons, used by the relay as it composes the
// mails (outbound.ts, with its stores) and by the author's tools (local/local-outbound.ts, with
// what a session saw), so an author sees the relay's code before deploying.
import type { Action } from "../../std/contract.js";

/**
 * Why an action was not sent: E_NOT_IN_CHAT (the bot left or never was in the group), E_NO_KEY (no
 * key for the chat's members, or for the person to add), E_NOT_SENT (delete/resend of an id the bot
 * did not send recently), E_OTHER_CHAT (delete/resend naming another chat than the one the mail
 * went to), E_ALREADY_MEMBER (add-member of someone already in the group, or of the bot itself),
 * E_STOPPED (every member of the group with a key sent /stop).
 */
export type SkipCode = "E_NOT_IN_CHAT" | "E_NO_KEY" | "E_NOT_SENT" | "E_OTHER_CHAT" | "E_ALREADY_MEMBER" | "E_STOPPED";

/** A skipped action's code and the reason in words. */
export interface Skip {
  code: SkipCode;
  reason: string;
}

/** A delete or resend names a message by its Message-ID: the bot may only name its own, in the chat it went to. */
export function referenceSkip(action: Extract<Action, { type: "delete" | "resend" }>, sentToChat: string | undefined): Skip | undefined {
  if (sentToChat === undefined) return { code: "E_NOT_SENT", reason: `${action.type}: ${action.messageId} is not a message the bot sent in the last days` };
  if (sentToChat !== action.chatId)
    return { code: "E_OTHER_CHAT", reason: `${action.type}: ${action.messageId} was sent to another chat than ${action.chatId}` };
  return undefined;
}

/** add-member of the bot itself or of someone in `members` (lowercased addresses) adds nobody. */
export function alreadyMemberSkip(action: Extract<Action, { type: "add-member" }>, botAddr: string, members: readonly string[]): Skip | undefined {
  const addr = action.addr.toLowerCase();
  if (addr !== botAddr.toLowerCase() && !members.includes(addr)) return undefined;
  return { code: "E_ALREADY_MEMBER", reason: `add-member: ${addr} is already in ${action.chatId}` };
}

/** A group mail whose every member (with a key) sent /stop reaches nobody. */
export function everyoneStoppedSkip(chatId: string): Skip {
  return { code: "E_STOPPED", reason: `every member of ${chatId} sent /stop` };
}
