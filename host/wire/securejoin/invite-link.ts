// The invite link a person scans to start SecureJoin with the bot (PROTOCOL §4). The format and
// percent-encoding follow Delta Chat core 2.57, whose own links look like
// https://i.delta.chat/#<FPR>&v=3&i=<invitenumber>&s=<auth>&a=<addr>&n=<name>.

/** What an invite link carries. */
export interface InviteLinkParts {
  /** The bot key's fingerprint, 40 hex digits. */
  fingerprint: string;
  addr: string;
  name: string;
  invitenumber: string;
  auth: string;
  /** Set for a group invite (vg-* flow). */
  group?: { id: string; name: string };
}

/** Percent-encode every byte except ASCII letters and digits, and "." when `keepDot` (core's sets). */
function percentEncode(text: string, keepDot: boolean): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9]/.test(char) || (keepDot && char === ".")) out += char;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The https invite link. `v=3` lets clients ≥ 2.45 use the v3 flow; `i=` stays so older clients
 * use the legacy flow.
 */
export function inviteLink(parts: InviteLinkParts): string {
  const fingerprint = parts.fingerprint.toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(fingerprint)) throw new Error(`invite link: "${parts.fingerprint}" is not a 40-hex-digit fingerprint`);
  const fields = [`v=3`, `i=${parts.invitenumber}`, `s=${parts.auth}`, `a=${percentEncode(parts.addr, true)}`];
  if (parts.group) fields.push(`g=${percentEncode(parts.group.name, false)}`, `x=${parts.group.id}`);
  else fields.push(`n=${percentEncode(parts.name, true)}`);
  return `https://i.delta.chat/#${fingerprint}&${fields.join("&")}`;
}

/** The same invite as an OPENPGP4FPR: URI (what older clients and some scanners expect). */
export function openpgp4fprUri(parts: InviteLinkParts): string {
  return inviteLink(parts).replace(/^https:\/\/i\.delta\.chat\/#([0-9A-F]{40})&/, "OPENPGP4FPR:$1#");
}
