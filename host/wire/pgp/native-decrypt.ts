// An incoming message decrypted and its signatures checked with node:crypto, for the mail Delta Chat
// cores send a bot (issue 15, part 2: CPU per echo): v3 ECDH PKESKs, one SEIPD v1 (AES-CFB with a
// modification detection code), inside it optionally one compressed packet (ZIP or ZLIB), and in
// that [one-pass signature]^n, one literal data packet, [signature]^n. openpgp.js's read of the
// same message goes through its stream layers (web streams, transferable buffers, zlib behind
// adapters) and a WebCrypto job per step: ~2.8 ms of CPU for a real core's text mail, against
// ~0.3 ms here.
//
// Anything outside that shape, or no PKESK the bot's key opens, goes to openpgp.js whole, which
// decides and reports as before. Once the SEIPD has opened (its MDC holds), what is inside that this
// is not sure of — a compressed body over the mail limit, another packet sequence, a signature
// native-verify.ts cannot judge — goes to openpgp.js with that session key, so the message is
// decrypted once more, not once per PKESK. Refused here: a mail with more PKESKs that open with the
// bot's key than OPENED_SESSION_KEYS_MAX (each would cost a pass over the whole message; a sender
// writes one per key), one whose opened keys all fail the MDC, and one with more signature packets
// than MESSAGE_SIGNATURES_MAX (each would cost a hash of the whole literal; openpgp.js's path in
// decrypt.ts refuses them too).
import { createDecipheriv, createHash, timingSafeEqual } from "node:crypto";
import { inflateRawSync, inflateSync } from "node:zlib";
import type * as openpgp from "openpgp";
import { MESSAGE_SIGNATURES_MAX, OPENED_SESSION_KEYS_MAX } from "../../../core/limits.js";
import type { Decrypted } from "./decrypt.js";
import { AES_CIPHERS } from "./ecdh-curve25519.js";
import type { BotIdentity } from "./identity.js";
import { nativeSessionKeysOfFrames, type SessionKey } from "./native-session-key.js";
import { type ParsedSignature, parseSignature, verifyNatively } from "./native-verify.js";
import { type PacketFrame, PacketTag, packetBody, readPacketFrames } from "./packets.js";

/** The Modification Detection Code packet at the end of SEIPD v1's plaintext: tag 19, 20 bytes of SHA-1 (RFC 9580 §5.13.1). */
const MDC_HEADER = Uint8Array.of(0xd3, 0x14);
const MDC_BYTES = 22;
const AES_BLOCK_BYTES = 16;
/** Compression algorithms (RFC 9580 §9.4): none, ZIP (raw deflate), ZLIB. BZip2 goes to openpgp.js. */
const COMPRESSION = { NONE: 0, ZIP: 1, ZLIB: 2 } as const;
/** Session key algorithm names (native-session-key.ts) → their CFB ciphers. */
const CFB_BY_NAME = Object.fromEntries(Object.values(AES_CIPHERS).map((cipher) => [cipher.name, cipher.cfb])) as Record<string, string>;

/** What the native reader made of a message. */
export type NativeReading =
  /** Read and checked: the result. */
  | { kind: "read"; result: Decrypted }
  /** The SEIPD opened with this session key (its MDC holds), but openpgp.js must read what is inside. */
  | { kind: "opened"; sessionKey: SessionKey }
  /** Refused: more PKESKs open with the bot's key than OPENED_SESSION_KEYS_MAX, none of them opens the SEIPD, or more signatures than MESSAGE_SIGNATURES_MAX. */
  | { kind: "refused"; why: string }
  /** Not this shape, or a bot key of another kind: openpgp.js decides, as before. */
  | undefined;

/**
 * `binary` (its top-level `frames`, shape already checked: PKESKs and one SEIPD) decrypted with
 * the bot's key and its signatures checked against `verificationKeys`. A compressed body may expand
 * to at most `limits.maxBytes` (a zip bomb stops there).
 */
export async function nativeDecryptAndVerify(
  binary: Uint8Array,
  frames: readonly PacketFrame[],
  bot: BotIdentity,
  verificationKeys: readonly openpgp.PublicKey[],
  limits: { maxBytes: number },
): Promise<NativeReading> {
  const seipd = frames.at(-1);
  if (seipd?.tag !== PacketTag.SEIPD) return undefined;
  const seipdBody = packetBody(binary, seipd);
  if (seipdBody[0] !== 1) return undefined; // SEIPD v2 (AEAD) is openpgp.js's
  const sessionKeys = await nativeSessionKeysOfFrames(binary, frames, bot, OPENED_SESSION_KEYS_MAX);
  if (!sessionKeys?.length) return undefined;
  if (sessionKeys.length > OPENED_SESSION_KEYS_MAX) {
    return {
      kind: "refused",
      why: `more than ${OPENED_SESSION_KEYS_MAX} session key packets open with the bot's key (OPENED_SESSION_KEYS_MAX); a sender writes one`,
    };
  }
  let opened: { sessionKey: SessionKey; packets: Uint8Array } | undefined;
  for (const sessionKey of sessionKeys) {
    const packets = decryptSeipdV1(seipdBody, CFB_BY_NAME[sessionKey.algorithm]!, sessionKey.data);
    if (packets) {
      opened = { sessionKey, packets };
      break;
    }
  }
  if (!opened) return { kind: "refused", why: "no session key the bot's key opens decrypts the message (its MDC does not hold)" };
  const parts = signedLiteral(opened.packets, limits.maxBytes);
  if (parts === "too many signatures") {
    return { kind: "refused", why: `it carries more than ${MESSAGE_SIGNATURES_MAX} signatures (MESSAGE_SIGNATURES_MAX); a sender writes one` };
  }
  if (!parts) return { kind: "opened", sessionKey: opened.sessionKey };
  const verdict = await verifyNatively(parts.signatures, parts.data, verificationKeys);
  if (verdict === "unsure") return { kind: "opened", sessionKey: opened.sessionKey };
  return { kind: "read", result: { inner: parts.data, signerFingerprint: verdict.signer?.fingerprint, signedAt: verdict.signer?.signedAt } };
}

/**
 * SEIPD v1's packets: CFB with a zero IV over a random block (its last two bytes repeated), the
 * packets and the MDC, which must be SHA-1 of everything before its last 20 bytes; undefined when
 * it does not hold. The repeated bytes (the "quick check") are not looked at: RFC 9580 §5.13.2 warns
 * that acting on them leaks plaintext, and the MDC covers them.
 */
function decryptSeipdV1(body: Uint8Array, cfb: string, key: Uint8Array): Uint8Array | undefined {
  if (body.length < 1 + AES_BLOCK_BYTES + 2 + MDC_BYTES || body[0] !== 1) return undefined;
  const decipher = createDecipheriv(cfb, key, Buffer.alloc(AES_BLOCK_BYTES));
  const plaintext = Buffer.concat([decipher.update(body.subarray(1)), decipher.final()]);
  const mdcStart = plaintext.length - MDC_BYTES;
  if (plaintext[mdcStart] !== MDC_HEADER[0] || plaintext[mdcStart + 1] !== MDC_HEADER[1]) return undefined;
  const expected = createHash("sha1")
    .update(plaintext.subarray(0, mdcStart + 2))
    .digest();
  if (!timingSafeEqual(expected, plaintext.subarray(mdcStart + 2))) return undefined;
  return plaintext.subarray(AES_BLOCK_BYTES + 2, mdcStart);
}

/**
 * The literal data and the signatures (parsed strictly: native-verify.ts) of `packets`, or
 * undefined for any other shape or a signature that does not parse so; "too many signatures" over
 * MESSAGE_SIGNATURES_MAX signature packets, whatever the shape.
 */
function signedLiteral(packets: Uint8Array, maxBytes: number): { data: Uint8Array; signatures: ParsedSignature[] } | "too many signatures" | undefined {
  let bytes = packets;
  let frames = readPacketFrames(bytes, { legacyFormat: true });
  if (frames?.length === 1 && frames[0]!.tag === PacketTag.COMPRESSED) {
    const inflated = decompress(packetBody(bytes, frames[0]!), maxBytes);
    if (!inflated) return undefined;
    bytes = inflated;
    frames = readPacketFrames(bytes, { legacyFormat: true });
  }
  if (!frames) return undefined;
  // Counted before any shape check: whatever reads the rest (here or openpgp.js) hashes the data once per signature.
  if (frames.filter((frame) => frame.tag === PacketTag.SIGNATURE).length > MESSAGE_SIGNATURES_MAX) return "too many signatures";
  if (frames.length % 2 !== 1) return undefined;
  // [OPS]^n literal [signature]^n; the i-th signature answers the (n-1-i)-th one-pass packet.
  const n = (frames.length - 1) / 2;
  const onePass = frames.slice(0, n);
  const literal = frames[n]!;
  const signatureFrames = frames.slice(n + 1);
  if (literal.tag !== PacketTag.LITERAL) return undefined;
  if (!onePass.every((frame) => frame.tag === PacketTag.ONE_PASS_SIGNATURE)) return undefined;
  if (!signatureFrames.every((frame) => frame.tag === PacketTag.SIGNATURE)) return undefined;
  const signatures: ParsedSignature[] = [];
  for (let i = 0; i < n; i++) {
    const signature = parseSignature(packetBody(bytes, signatureFrames[i]!));
    if (!signature || !matchesOnePass(packetBody(bytes, onePass[n - 1 - i]!), signature)) return undefined;
    signatures.push(signature);
  }
  const data = literalData(packetBody(bytes, literal));
  return data && { data, signatures };
}

/**
 * A v3 one-pass signature packet (RFC 9580 §5.4) that announces `signature`: the same type, hash and
 * public-key algorithms and issuer key ID, as openpgp.js requires; a v6 one or another length is not this shape.
 */
function matchesOnePass(onePass: Uint8Array, signature: ParsedSignature): boolean {
  if (onePass.length !== 13 || onePass[0] !== 3) return false;
  if (onePass[1] !== signature.signatureType || onePass[2] !== signature.hashAlgorithm || onePass[3] !== signature.publicKeyAlgorithm) return false;
  return Buffer.from(onePass.subarray(4, 12)).equals(signature.issuerKeyId);
}

/** The literal formats openpgp.js reads: binary, text, UTF-8, MIME (it refuses any other octet). */
const LITERAL_FORMATS = new Set([0x62, 0x74, 0x75, 0x6d]);

/** A literal data packet's data: after the format, the file name with its length, and the 4-byte date. */
function literalData(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 2 || !LITERAL_FORMATS.has(body[0]!)) return undefined;
  const dataStart = 2 + body[1]! + 4;
  if (dataStart > body.length) return undefined;
  return body.subarray(dataStart);
}

/** A compressed data packet's content, at most `maxBytes` of it; undefined for BZip2, an unknown algorithm, corrupt data or more. */
function decompress(body: Uint8Array, maxBytes: number): Uint8Array | undefined {
  if (body.length < 1) return undefined;
  const data = body.subarray(1);
  try {
    switch (body[0]) {
      case COMPRESSION.NONE:
        return data;
      case COMPRESSION.ZIP:
        return inflateRawSync(data, { maxOutputLength: maxBytes });
      case COMPRESSION.ZLIB:
        return inflateSync(data, { maxOutputLength: maxBytes });
      default:
        return undefined;
    }
  } catch {
    return undefined; // over maxBytes (RangeError) or corrupt: openpgp.js reports it
  }
}
