// What every message from the bot into a group carries (PROTOCOL §3, core mimefactory.rs):
// Chat-Group-ID and -Name, Chat-Group-Member-Fpr with each To address's fingerprint in To's
// order, and Autocrypt-Gossip of every member so all of them learn each other's keys. The
// "member added" message (PROTOCOL §3–4) is composed here for both ways the bot adds someone: a
// SecureJoin group join (securejoin/responder.ts) and the bot's addToGroup action (outbound.ts).
import type * as openpgp from "openpgp";
import { formatAutocryptHeader } from "./pgp/autocrypt.js";
import { composeBotMessage, type OutgoingMail } from "./bot-message.js";
import type { BotAccount } from "./bot-account.js";
import type { Group } from "./group-store.js";

/** A member the bot can encrypt to. */
export interface Recipient {
  addr: string;
  fingerprint: string;
  keydataBase64: string;
  key: openpgp.PublicKey;
  /** True when SecureJoin verified this key for this address (peer-store.ts). */
  verified: boolean;
}

/** The key the bot has for `addr`, or undefined. */
export async function peerRecipient(account: BotAccount, addr: string): Promise<Recipient | undefined> {
  const peer = await account.peers.get(addr);
  if (!peer) return undefined;
  const key = await account.peers.key(peer.keydataBase64);
  return { addr: peer.addr, fingerprint: peer.fingerprint, keydataBase64: peer.keydataBase64, key, verified: peer.verified };
}

/** The group's members whose keys the bot knows (a member without a key cannot be written to). */
export async function groupRecipients(account: BotAccount, group: Group): Promise<Recipient[]> {
  const found = await Promise.all(group.members.map((addr) => peerRecipient(account, addr)));
  return found.filter((r): r is Recipient => r !== undefined);
}

/** The group headers for a message to `members` (in the order of its To header). */
export function groupMessageHeaders(group: Group, members: readonly Recipient[]): Array<[string, string]> {
  return [
    ["Chat-Group-ID", group.id],
    ["Chat-Group-Name", group.name],
    ["Chat-Group-Member-Fpr", members.map((m) => m.fingerprint).join(" ")],
    ...members.map((m): [string, string] => ["Autocrypt-Gossip", formatAutocryptHeader(m.addr, m.keydataBase64)]),
  ];
}

/**
 * The "member added" message: `Chat-Group-Member-Added` (+`-Fpr`) naming `added`, to every member
 * of `group` whose key the bot knows — `group` must already list `added`, so the new member gets it
 * too — encrypted to all of them, with gossip of every member's key. `headers` go after the
 * member-added ones (SecureJoin's `vg-member-added`); `messageId` fixes the Message-ID (stable on retry).
 */
export async function composeMemberAdded(
  account: BotAccount,
  group: Group,
  added: { addr: string; fingerprint: string },
  options: { messageId?: string; headers?: Array<[string, string]> } = {},
): Promise<OutgoingMail> {
  const members = await groupRecipients(account, group);
  return composeBotMessage(
    account,
    {
      to: members.map((m) => ({ addr: m.addr })),
      recipients: members.map((m) => m.addr),
      subject: `Re: ${group.name}`,
      body: { kind: "text", text: `Member ${added.addr} added.` },
      ...(options.messageId ? { messageId: options.messageId } : {}),
      headers: [
        ...groupMessageHeaders(group, members),
        ["Chat-Group-Member-Added", added.addr],
        ["Chat-Group-Member-Added-Fpr", added.fingerprint],
        ...(options.headers ?? []),
      ],
    },
    { keys: members.map((m) => m.key) },
  );
}
