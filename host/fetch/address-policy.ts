// Which IP addresses and ports a bot's fetch may reach (pure). The guarded connector asks this
// about the address it is about to connect to, so the answer holds for the socket actually opened.

import { isIP } from "node:net";

/** What an address is, as far as a bot's reach is concerned. */
export type AddressKind = "public" | "loopback" | "private" | "shared" | "link-local" | "unspecified" | "multicast" | "broadcast" | "reserved";

/** Kinds that an operator may open by naming the IP literally in the allowlist (a test server, a LAN API). */
const NAMEABLE_KINDS: ReadonlySet<AddressKind> = new Set(["loopback", "private", "shared", "link-local"]);

/**
 * Ports no bot may reach on any address, whatever the allowlist says: the relay's SMTP submission
 * and relay ports (25, 465, 587) and its filtermail/postfix re-injection ports (10025, 10026, 10080, 10081).
 */
const REFUSED_PORTS: readonly number[] = Object.freeze([25, 465, 587, 10025, 10026, 10080, 10081]);

/** True for a port a bot may never connect to (the relay's mail ports). */
export function isRefusedPort(port: number): boolean {
  return REFUSED_PORTS.includes(port);
}

/** The 4 or 16 bytes of an IP literal (brackets and a `%zone` allowed), or undefined if it is not one. */
export function parseIp(text: string): Uint8Array | undefined {
  let literal = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = literal.indexOf("%");
  if (zone !== -1) literal = literal.slice(0, zone);
  const family = isIP(literal);
  if (family === 4) return parseIpv4(literal);
  if (family === 6) return parseIpv6(literal);
  return undefined;
}

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

// Only called on strings node:net already accepted as IPv6, so the shape is known to be valid.
function parseIpv6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let groups = text;
  let tail: Uint8Array | undefined;
  if (text.includes(".")) {
    const cut = text.lastIndexOf(":");
    tail = parseIpv4(text.slice(cut + 1));
    groups = `${text.slice(0, cut + 1)}0:0`; // placeholder groups, overwritten by the v4 tail below
  }
  const [head = "", rest] = groups.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const all = [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  all.forEach((group, index) => {
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Classify 4 or 16 address bytes; IPv6 forms that embed an IPv4 address are judged by that address. */
export function classifyAddress(bytes: Uint8Array): AddressKind {
  return bytes.length === 4 ? classifyIpv4(bytes) : classifyIpv6(bytes);
}

function classifyIpv4(b: Uint8Array): AddressKind {
  const [a = 0, second = 0] = b;
  if (a === 0) return "unspecified"; // 0.0.0.0/8 "this network"; Linux routes 0.0.0.0 to localhost
  if (a === 127) return "loopback";
  if (a === 10) return "private";
  if (a === 172 && second >= 16 && second <= 31) return "private";
  if (a === 192 && second === 168) return "private";
  if (a === 100 && second >= 64 && second <= 127) return "shared"; // RFC 6598 carrier-grade NAT
  if (a === 169 && second === 254) return "link-local"; // includes cloud metadata 169.254.169.254
  if (a >= 224 && a <= 239) return "multicast";
  if (b.every((x) => x === 255)) return "broadcast";
  if (a >= 240) return "reserved";
  return "public";
}

function classifyIpv6(b: Uint8Array): AddressKind {
  const startsWith = (prefix: number[]): boolean => prefix.every((x, i) => b[i] === x);
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  const embedded = (at: number): AddressKind => classifyIpv4(b.subarray(at, at + 4));
  if (zeros(0, 16)) return "unspecified";
  if (zeros(0, 15) && b[15] === 1) return "loopback";
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return embedded(12); // ::ffff:a.b.c.d (RFC 4291)
  if (zeros(0, 12)) return "reserved"; // deprecated IPv4-compatible ::a.b.c.d
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) reaches the embedded IPv4 address.
  if (startsWith([0x00, 0x64, 0xff, 0x9b]) && zeros(4, 12)) return embedded(12);
  if (startsWith([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) return "private"; // 64:ff9b:1::/48 local NAT64 (RFC 8215)
  if (startsWith([0x20, 0x02])) return embedded(2); // 6to4 2002:a.b.c.d::/48 (RFC 3056)
  const first = b[0] ?? 0;
  const second = b[1] ?? 0;
  if ((first & 0xfe) === 0xfc) return "private"; // fc00::/7 unique local
  if (first === 0xfe && (second & 0xc0) === 0x80) return "link-local"; // fe80::/10
  if (first === 0xfe && (second & 0xc0) === 0xc0) return "private"; // fec0::/10 deprecated site-local
  if (first === 0xff) return "multicast";
  return "public";
}

/** The answer to "may this socket connect here?": allowed, or refused with the address's kind. */
export type AddressVerdict = { allowed: true } | { allowed: false; kind: AddressKind };

/**
 * Whether a bot may connect to `address`, reached through `hostname` (the URL's host).
 * Public addresses are fine. A loopback/private/shared/link-local address is fine only when the
 * operator named it: `hostname` is that very IP literal, or `localhost` for a loopback address,
 * and `hostname` is in `namedHosts`. A DNS name that resolves to such an address is always refused,
 * which defeats DNS rebinding because this runs on the address the socket is opened to.
 */
export function checkAddress(address: string, hostname: string, namedHosts: ReadonlySet<string>): AddressVerdict {
  const bytes = parseIp(address);
  if (!bytes) return { allowed: false, kind: "reserved" };
  const kind = classifyAddress(bytes);
  if (kind === "public") return { allowed: true };
  if (!NAMEABLE_KINDS.has(kind) || !namedHosts.has(hostname)) return { allowed: false, kind };
  if (hostname === "localhost") return kind === "loopback" ? { allowed: true } : { allowed: false, kind };
  const named = parseIp(hostname);
  return named && sameBytes(named, bytes) ? { allowed: true } : { allowed: false, kind };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
