// The bot's actions → encrypted Delta Chat mails. A chat id is a peer's address (1:1) or
// "group:<id>". Message-IDs are derived from the event and the action's index (message-id.ts), so
// a host that retries an event sends the same ids and clients drop the duplicates (PROTOCOL §6);
// the sandbox handed the bot the same ids when it called bot.reply/bot.send.
import type { Action } from "../../std/contract.js";
import type { InnerBody } from "./mime/compose.js";
import { composeBotMessage, type OutgoingMail } from "./bot-message.js";
import { composeMemberAdded, groupMessageHeaders, groupRecipients, peerRecipient, type Recipient } from "./group-message.js";
import { VERIFIED_CHAT_HEADER } from "./verified-chat.js";
import { stableMessageId } from "./message-id.js";
import { alreadyMemberSkip, everyoneStoppedSkip, referenceSkip, type Skip, type SkipCode } from "./skip-rules.js";
import type { BotAccount } from "./bot-account.js";

/** A mail that carries out action `index`. */
export interface ActionMail extends OutgoingMail {
  index: number;
  chatId: string;
  /** True for a newly composed mail (remember it once SMTP took it); false for a resend of a stored one. */
  fresh: boolean;
}

/** Mails for the actions, and the actions that could not be sent with a code and the reason. */
export interface OutboundResult {
  mails: ActionMail[];
  skipped: Array<{ index: number; code: SkipCode; reason: string }>;
}

/** Text of a deletion request, as core sends it (message.rs delete_msgs_ex); receivers never show it. */
const DELETE_REQUEST_TEXT = "🚮";

/** The stable Message-ID of action `index` of the event identified by `eventKey`. */
export function actionMessageId(account: BotAccount, eventKey: string, index: number): string {
  return stableMessageId(account.addr, eventKey, index);
}

/** Who a mail into a chat goes to and the headers that chat needs. */
interface Route {
  /** Who the mail is encrypted and submitted to. */
  recipients: Recipient[];
  /** Who its To header names: every member of a group, also those left out of `recipients`. */
  to: string[];
  subject: string;
  headers: Array<[string, string]>;
}

/** Who sent /stop: left out of the envelope and encryption of group mail (consent, issue 4 item 6). */
export type StoppedCheck = (addr: string) => Promise<boolean>;

async function routeOf(account: BotAccount, chatId: string, isStopped: StoppedCheck): Promise<Route | Skip> {
  if (chatId.startsWith("group:")) {
    const group = await account.groups.get(chatId.slice("group:".length));
    if (!group || group.left) return { code: "E_NOT_IN_CHAT", reason: `the bot is not in ${chatId}` };
    const members = await groupRecipients(account, group);
    if (members.length === 0) return { code: "E_NO_KEY", reason: `no member of ${chatId} has a known key` };
    // The headers still name every member (the group stays the same group for the others);
    // only the mail's envelope and encryption leave out whoever sent /stop.
    const reached: Recipient[] = [];
    for (const member of members) if (!(await isStopped(member.addr))) reached.push(member);
    if (reached.length === 0) return everyoneStoppedSkip(chatId);
    return { recipients: reached, to: members.map((m) => m.addr), subject: `Re: ${group.name}`, headers: groupMessageHeaders(group, members) };
  }
  const peer = await peerRecipient(account, chatId);
  if (!peer) return { code: "E_NO_KEY", reason: `no key for ${chatId} (they have not written to the bot)` };
  return { recipients: [peer], to: [peer.addr], subject: `Message from ${account.name}`, headers: peer.verified ? [VERIFIED_CHAT_HEADER] : [] };
}

/**
 * add-member (PROTOCOL §3): the member-added message to every member, the new one included, then
 * the new member in the group store — so the bot's next mails into the group reach them too.
 */
async function addMember(account: BotAccount, action: Extract<Action, { type: "add-member" }>, messageId: string): Promise<OutgoingMail | Skip> {
  const group = await account.groups.get(action.chatId.slice("group:".length));
  if (!group || group.left) return { code: "E_NOT_IN_CHAT", reason: `add-member: the bot is not in ${action.chatId}` };
  const already = alreadyMemberSkip(action, account.addr, group.members);
  if (already) return already;
  const addr = action.addr.toLowerCase();
  const added = await peerRecipient(account, addr);
  if (!added) return { code: "E_NO_KEY", reason: `add-member: no key for ${addr} (they have not written to the bot)` };
  const withAdded = { ...group, members: [...group.members, addr].sort() };
  const mail = await composeMemberAdded(account, withAdded, added, { messageId });
  await account.groups.update(group.id, (g) => ({ ...g, members: [...g.members, addr] }));
  return mail;
}

/** What the inner message of a composed action says: body, the message it refers to, extra headers. */
function contentOf(action: Exclude<Action, { type: "resend" | "add-member" }>): { body: InnerBody; inReplyTo?: string; headers: Array<[string, string]> } {
  switch (action.type) {
    case "reply":
    case "send": {
      const body: InnerBody = action.file
        ? { kind: "file", text: action.text, file: { name: action.file.name, type: action.file.type, data: Buffer.from(action.file.dataBase64, "base64") } }
        : { kind: "text", text: action.text };
      return { body, ...(action.type === "reply" ? { inReplyTo: action.inReplyTo } : {}), headers: [] };
    }
    // PROTOCOL §5: a hidden message whose In-Reply-To names the app instance.
    case "webxdc-status":
      return { body: { kind: "webxdc-status", updates: [action.update] }, inReplyTo: action.instanceId, headers: [] };
    // PROTOCOL §6: a hidden text part with Content-Disposition: reaction, In-Reply-To the target.
    case "react":
      return { body: { kind: "reaction", emoji: action.emoji }, inReplyTo: action.messageId, headers: [] };
    // PROTOCOL §6: encrypted, to the chat; core deletes only messages whose sender sent the request.
    case "delete":
      return { body: { kind: "text", text: DELETE_REQUEST_TEXT }, headers: [["Chat-Delete", action.messageId]] };
  }
}

/**
 * Compose the mails for one event's actions. `eventKey` identifies the event (its Message-ID, or the
 * tick's time). `indices[i]` is the index the bot's run gave `actions[i]` (default: `i`): when the
 * policy held some actions back, the others keep the Message-IDs the sandbox already told the bot.
 * `isStopped` (the bot's consent records) leaves people who sent /stop out of group mail.
 */
export async function mailsForActions(
  account: BotAccount,
  actions: readonly Action[],
  eventKey: string,
  indices?: readonly number[],
  isStopped: StoppedCheck = async () => false,
): Promise<OutboundResult> {
  const result: OutboundResult = { mails: [], skipped: [] };
  // This event's own new mails count as sent: a bot may delete or resend what it sends in the same event.
  const own = new Map<string, ActionMail>();
  const sentByBot = async (messageId: string) => {
    const mail = own.get(messageId);
    if (mail) return { chatId: mail.chatId, mail };
    const stored = await account.sent.get(messageId);
    return stored
      ? { chatId: stored.entry.chatId, mail: { from: stored.entry.from, recipients: stored.entry.recipients, raw: stored.raw, messageId } }
      : undefined;
  };

  for (const [position, action] of actions.entries()) {
    const index = indices?.[position] ?? position;
    const skip = (s: Skip) => result.skipped.push({ index, ...s });
    if (action.type === "delete" || action.type === "resend") {
      const sent = await sentByBot(action.messageId);
      const refused = referenceSkip(action, sent?.chatId);
      if (refused) {
        skip(refused);
        continue;
      }
      if (action.type === "resend") {
        // The same bytes (same Message-ID) to the same recipients: receivers drop a copy they have.
        // referenceSkip passed, so the bot sent it (`sent` is set).
        result.mails.push({ ...sent!.mail, recipients: [...sent!.mail.recipients], index, chatId: action.chatId, fresh: false });
        continue;
      }
    }
    if (action.type === "add-member") {
      const mail = await addMember(account, action, actionMessageId(account, eventKey, index));
      if ("code" in mail) {
        skip(mail);
        continue;
      }
      const actionMail: ActionMail = { ...mail, index, chatId: action.chatId, fresh: true };
      own.set(mail.messageId, actionMail);
      result.mails.push(actionMail);
      continue;
    }
    const route = await routeOf(account, action.chatId, isStopped);
    if ("code" in route) {
      skip(route);
      continue;
    }
    const { body, inReplyTo, headers } = contentOf(action);
    const mail = await composeBotMessage(
      account,
      {
        to: route.to.map((addr) => ({ addr })),
        recipients: route.recipients.map((r) => r.addr),
        subject: route.subject,
        body,
        messageId: actionMessageId(account, eventKey, index),
        ...(inReplyTo ? { inReplyTo, references: [inReplyTo] } : {}),
        headers: [...route.headers, ...headers],
      },
      { keys: route.recipients.map((r) => r.key) },
    );
    const actionMail: ActionMail = { ...mail, index, chatId: action.chatId, fresh: true };
    own.set(mail.messageId, actionMail);
    result.mails.push(actionMail);
  }
  return result;
}
