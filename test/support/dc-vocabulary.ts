// Test support: what a user's Delta Chat client shows, said once for every core version. Cores
// express the same state with different fields:
// - verified contact: 1.160 `isVerified` (both directions verified: the green checkmark) and
//   `isProfileVerified`; 2.33–2.57 `isVerified` on a key-contact; 2.62 dropped `isVerified` and
//   `verifierId` — a key-contact in an encrypted chat is the verified state there.
// - encrypted chat: 2.x `isEncrypted` on the chat; 1.160 has none — its 1:1 chat after SecureJoin
//   is `isProtected` (verified, hence encrypted).
// - chat type: 1.160 numbers (100 single, 120 group), 2.x names ("Single", "Group").
// - message: `showPadlock` (encrypted), `file` (path of the stored bytes) in every core; a message
//   deleted for everyone leaves the chat's message list.
// A test asks `clientShows(...)` what it means instead of reading one core's fields.
import { readFile } from "node:fs/promises";
import type { DeltaChatDriver } from "./deltachat-client.js";

/** A contact as any core returns it: the fields the vocabulary reads. */
interface AnyContact {
  isBot: boolean;
  isVerified?: boolean;
  isProfileVerified?: boolean;
  isKeyContact?: boolean;
  verifierId?: number | null;
}

/** A chat as any core returns it from getBasicChatInfo. */
interface AnyChat {
  chatType: string | number;
  isEncrypted?: boolean;
  isProtected?: boolean;
}

const CHAT_TYPE_GROUP = new Set<string | number>(["Group", 120]);
const CHAT_TYPE_SINGLE = new Set<string | number>(["Single", 100]);

/** The invite link as `dc`'s core scans it: 1.x cores have no v3, so they get the legacy form. */
export function inviteFor(dc: DeltaChatDriver, invite: string): string {
  return dc.core.hasSecureJoinV3 ? invite : invite.replace(/&v=3(?=&|$)/, "");
}

/** A person's own invite link (1:1 when `chatId` is null); cores before 1.140 only return it with its SVG. */
export async function personInvite(dc: DeltaChatDriver, account: number, chatId: number | null = null): Promise<string> {
  if (typeof dc.rpc.getChatSecurejoinQrCode === "function") return dc.rpc.getChatSecurejoinQrCode(account, chatId);
  const [link] = await dc.rpc.getChatSecurejoinQrCodeSvg(account, chatId);
  return link;
}

/** True when the chat `chatId` is end-to-end encrypted, as `dc`'s core says it. */
export async function chatIsEncrypted(dc: DeltaChatDriver, account: number, chatId: number): Promise<boolean> {
  const chat = (await dc.rpc.getBasicChatInfo(account, chatId)) as unknown as AnyChat;
  return chat.isEncrypted ?? chat.isProtected ?? false;
}

/** True when the chat is a group (not 1:1). */
export async function chatIsGroup(dc: DeltaChatDriver, account: number, chatId: number): Promise<boolean> {
  const chat = (await dc.rpc.getBasicChatInfo(account, chatId)) as unknown as AnyChat;
  if (CHAT_TYPE_GROUP.has(chat.chatType)) return true;
  if (CHAT_TYPE_SINGLE.has(chat.chatType)) return false;
  throw new Error(`unknown chat type ${String(chat.chatType)} from core ${dc.core.name}`);
}

/** True when `dc`'s user sees `contactId` as a verified contact (green checkmark), in the words of its core. */
export async function contactIsVerified(dc: DeltaChatDriver, account: number, contactId: number, chatId?: number): Promise<boolean> {
  const contact = (await dc.rpc.getContact(account, contactId)) as unknown as AnyContact;
  if (!dc.core.hasKeyContacts) return contact.isVerified === true && contact.isProfileVerified === true;
  if (contact.isVerified !== undefined) return contact.isVerified && contact.isKeyContact === true;
  // 2.62+: no verification fields; a key-contact whose chat is encrypted.
  if (contact.isKeyContact !== true) return false;
  return chatId === undefined ? true : chatIsEncrypted(dc, account, chatId);
}

/** True when the client shows `contactId` as a bot. */
export async function contactIsBot(dc: DeltaChatDriver, account: number, contactId: number): Promise<boolean> {
  return ((await dc.rpc.getContact(account, contactId)) as unknown as AnyContact).isBot;
}

/** A message as any core returns it from getMessage: the fields the vocabulary reads. */
interface AnyMessage {
  showPadlock: boolean;
  file: string | null;
}

/** True when the client shows the message with a padlock (end-to-end encrypted): every core says `showPadlock`. */
export function messageIsEncrypted(message: AnyMessage): boolean {
  return message.showPadlock;
}

/** The bytes of the file the client stored for a file message (`file` is a path in the account's blob dir in every core). */
export async function messageFileBytes(message: AnyMessage): Promise<Buffer> {
  if (!message.file) throw new Error("the message has no file");
  return readFile(message.file);
}

/** True when the user no longer sees `msgId` in `chatId` (deleted for everyone: core trashes or removes it). */
export async function messageIsGone(dc: DeltaChatDriver, account: number, chatId: number, msgId: number): Promise<boolean> {
  if ((await dc.rpc.getMessageIds(account, chatId, false, false)).includes(msgId)) return false;
  return dc.rpc.getMessage(account, msgId).then(
    (message) => message.chatId !== chatId,
    () => true,
  );
}
