// The bot's actions → encrypted Delta Chat mails. A chat id is a peer's address (1:1) or
// "group:<id>". Message-IDs are derived from the event and the action's index, so a host that
// retries an event sends the same ids and clients drop the duplicates (PROTOCOL §6).
import { createHash } from "node:crypto";
import type { Action } from "../../std/contract.js";
import type { InnerBody } from "./mime/compose.js";
import { composeBotMessage, type OutgoingMail } from "./bot-message.js";
import { groupMessageHeaders, groupRecipients, peerRecipient } from "./group-message.js";
import type { BotAccount } from "./bot-account.js";

/** Mails for the actions, and the actions that could not be sent with the reason. */
export interface OutboundResult {
  mails: OutgoingMail[];
  skipped: Array<{ index: number; reason: string }>;
}

/** The stable Message-ID of action `index` of the event identified by `eventKey`. */
export function actionMessageId(account: BotAccount, eventKey: string, index: number): string {
  const digest = createHash("sha256").update(`${account.addr}\n${eventKey}\n${index}`).digest("base64url").slice(0, 32);
  return `<${digest}@${account.addr.slice(account.addr.lastIndexOf("@") + 1)}>`;
}

function bodyOf(action: Action): InnerBody {
  if (!action.file) return { kind: "text", text: action.text };
  return { kind: "file", text: action.text, file: { name: action.file.name, type: action.file.type, data: Buffer.from(action.file.dataBase64, "base64") } };
}

/** Compose the mails for one event's actions. `eventKey` identifies the event (its Message-ID, or the tick's time). */
export async function mailsForActions(account: BotAccount, actions: readonly Action[], eventKey: string): Promise<OutboundResult> {
  const result: OutboundResult = { mails: [], skipped: [] };
  for (const [index, action] of actions.entries()) {
    const messageId = actionMessageId(account, eventKey, index);
    const reply = action.type === "reply" ? { inReplyTo: action.inReplyTo, references: [action.inReplyTo] } : {};
    if (action.chatId.startsWith("group:")) {
      const group = await account.groups.get(action.chatId.slice("group:".length));
      if (!group || group.left) {
        result.skipped.push({ index, reason: `the bot is not in ${action.chatId}` });
        continue;
      }
      const members = await groupRecipients(account, group);
      if (members.length === 0) {
        result.skipped.push({ index, reason: `no member of ${action.chatId} has a known key` });
        continue;
      }
      result.mails.push(
        await composeBotMessage(
          account,
          { to: members.map((m) => ({ addr: m.addr })), recipients: members.map((m) => m.addr), subject: `Re: ${group.name}`, body: bodyOf(action), messageId, ...reply, headers: groupMessageHeaders(group, members) },
          { keys: members.map((m) => m.key) },
        ),
      );
      continue;
    }
    const peer = await peerRecipient(account, action.chatId);
    if (!peer) {
      result.skipped.push({ index, reason: `no key for ${action.chatId} (they have not written to the bot)` });
      continue;
    }
    result.mails.push(
      await composeBotMessage(
        account,
        { to: [{ addr: peer.addr }], recipients: [peer.addr], subject: `Message from ${account.name}`, body: bodyOf(action), messageId, ...reply },
        { keys: [peer.key] },
      ),
    );
  }
  return result;
}
