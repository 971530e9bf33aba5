// Mail addresses in one place (issue 11 part 5): the checks each door applies and the two halves of
// an address. There are four checks, not one, because the doors guard different things: what the
// host sends to, what may name a bot's folder, what a header we write may hold, and what a received
// header may hold. Each says which; a new door picks one of these instead of writing a fifth regex.

// RFC 5321 §4.1.2 Dot-string local part and a hostname domain (RFC 1035 §2.3.1 labels), lower case:
// the host lowercases before it checks, so one spelling of an address is one peer.
const CANONICAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
// One "@"; no whitespace (no CR/LF in a From: line), no path separator, quote or angle bracket.
const ACCOUNT = /^[^\s@/\\<>"]+@[^\s@/\\<>"]+$/;
// RFC 5322 §3.2.3 atext local part and a hostname domain: safe to write bare inside <…>.
const HEADER = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$/;
// What a received address header may hold once its display name is gone: lenient (other clients
// write what they write), but one "@" and nothing that ends an address in a list.
const RECEIVED = /^[^\s<>@",;]+@[^\s<>@",;]+$/;

/** True for an address the host may send to: lower-case dot-atom `local@host.name` (guest actions, invites). */
export function isCanonicalAddress(text: string): boolean {
  return CANONICAL.test(text);
}

/**
 * True for a bot account's address: it names the bot's folder (bots/<addr>/) and goes into the
 * From: of the bot's own mails, so one "@", no whitespace, "/", "\", quotes, angle brackets or "..".
 */
export function isAccountAddress(text: string): boolean {
  return ACCOUNT.test(text) && !text.includes("..");
}

/** True for an address we may write into a header we compose (atext@hostname, any case). */
export function isHeaderAddress(text: string): boolean {
  return HEADER.test(text);
}

/** True for the bare address of a received header (`a@b` after `<…>` and the name are gone). */
export function isReceivedAddress(text: string): boolean {
  return RECEIVED.test(text);
}

/** The domain: the text after the last "@" (a quoted local part may hold one), or all of `addr` when it has none. */
export function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf("@") + 1);
}

/** The local part: the text before the last "@", or "" when `addr` has none. */
export function localPartOf(addr: string): string {
  return addr.slice(0, Math.max(0, addr.lastIndexOf("@")));
}

// A pragmatic check, not RFC 5322's grammar: something@domain.tld, no spaces, brackets or quotes.
const CONTACT = /^[^\s@<>()[\]",;:]+@[^\s@<>()[\]",;:]+\.[^\s@<>()[\]",;:.]+$/;

/** True for an address a person will write to (a manifest's `author.contact`): `someone@domain.tld`. */
export function isContactAddress(text: string): boolean {
  return CONTACT.test(text);
}
