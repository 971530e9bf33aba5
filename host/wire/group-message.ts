// What every message from the bot into a group carries (PROTOCOL §3, core mimefactory.rs):
// Chat-Group-ID and -Name, Chat-Group-Member-Fpr with each To address's fingerprint in To's
// order, and Autocrypt-Gossip of every member so all of them learn each other's keys.
import type * as openpgp from "openpgp";
import { formatAutocryptHeader, publicKeyFromKeydata } from "./pgp/autocrypt.js";
import type { BotAccount } from "./bot-account.js";
import type { Group } from "./group-store.js";

/** A member the bot can encrypt to. */
export interface Recipient {
  addr: string;
  fingerprint: string;
  keydataBase64: string;
  key: openpgp.PublicKey;
}

/** The key the bot has for `addr`, or undefined. */
export async function peerRecipient(account: BotAccount, addr: string): Promise<Recipient | undefined> {
  const peer = await account.peers.get(addr);
  if (!peer) return undefined;
  const key = await publicKeyFromKeydata(Buffer.from(peer.keydataBase64, "base64"));
  return { addr: peer.addr, fingerprint: peer.fingerprint, keydataBase64: peer.keydataBase64, key };
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
