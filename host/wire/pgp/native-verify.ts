// A message signature checked with node:crypto, for the signatures Delta Chat cores make (issue 15,
// part 2: CPU per echo): v4, binary document (type 0x00), EdDSALegacy over SHA-256/384/512, by
// the primary key of a sender's v4 Ed25519Legacy key. openpgp.js spent ~0.8 ms on one (a WebCrypto
// key import and a thread-pool job); node's synchronous Ed25519 with a cached key costs ~0.1 ms.
//
// The rules are openpgp.js's (SignaturePacket.verify, createVerificationObject), kept narrow:
//   - a signature is parsed strictly: known subpackets only (creation time exactly once, issuer key
//     ID, issuer fingerprint, non-critical notations); anything else, or any doubt, is "unsure";
//   - the digest's left 16 bits, then Ed25519 over the digest (R and S, 32 bytes each);
//   - created no later than now (whole seconds, as openpgp.js normalizes), and no earlier than the
//     key and its self-signatures (see signerKey below).
// "Unsure" sends the whole message back to openpgp.js (native-decrypt.ts): this never accepts
// what openpgp.js would refuse, and never refuses what it would accept without asking it.
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import type * as openpgp from "openpgp";
import { fingerprintOf } from "./autocrypt.js";

/** RFC 9580's public-key algorithm id of EdDSALegacy. */
const PUBKEY_EDDSA_LEGACY = 22;
/** SHA-2 by OpenPGP id (EdDSA needs a digest of at least 256 bits: no SHA-224, no SHA-1). */
const SIGNATURE_HASHES = { 8: "sha256", 9: "sha384", 10: "sha512" } as const;
/** Signature subpacket types read here (RFC 9580 §5.2.3.7). */
const SUBPACKET = { CREATED: 2, ISSUER_KEY_ID: 16, NOTATION: 20, ISSUER_FINGERPRINT: 33 } as const;
const EMBEDDED_SIGNATURE = 32;
/** The subpacket types openpgp.js 6 reads into a signature's fields (SignaturePacket.readSubPacket's cases). */
const OPENPGPJS_READS = new Set([2, 3, 4, 5, 6, 7, 9, 11, 12, 16, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 39]);

/** A v4 signature packet as read here. */
export interface ParsedSignature {
  signatureType: number;
  publicKeyAlgorithm: number;
  hashAlgorithm: number;
  /** The issuer's 8-byte key ID (subpacket 16, or the end of subpacket 33). */
  issuerKeyId: Uint8Array;
  /** Creation time, whole seconds since the epoch. */
  created: number;
  /** Version through the hashed subpackets: what the digest covers after the data. */
  hashedHead: Uint8Array;
  left16: Uint8Array;
  /** R and S, 32 bytes each. */
  rs: Uint8Array;
}

/** A verification key's primary, as checked here; null when it is of another kind or its validity needs openpgp.js. */
interface SignerKey {
  fingerprint: string;
  publicKey: KeyObject;
  /** The latest of the key's creation and its self-signatures' creation, whole seconds: no signature before it is judged here. */
  validFrom: number;
}

const signerKeys = new WeakMap<openpgp.PublicKey, Promise<SignerKey | null>>();

/** The outcome for one message: "unsure" hands the message to openpgp.js. */
type NativeVerdict = { signer: { fingerprint: string; signedAt: number } | undefined } | "unsure";

/**
 * The first of `signatures` (parsed by parseSignature, in packet order) that a primary key of `keys`
 * made over `data` and that verifies, as decrypt.ts's verifiedSigner would find it with openpgp.js.
 */
export async function verifyNatively(
  signatures: readonly ParsedSignature[],
  data: Uint8Array,
  keys: readonly openpgp.PublicKey[],
  now: number = Date.now(),
): Promise<NativeVerdict> {
  const candidates = await Promise.all(keys.map(signerKeyOf));
  for (const signature of signatures) {
    // Core counts a signature by a sender's primary key only (PROTOCOL §0.4); openpgp.js's
    // verifiedSigner in decrypt.ts looks for the same.
    const index = keys.findIndex((key) => Buffer.from(key.getKeyID().toHex(), "hex").equals(signature.issuerKeyId));
    if (index < 0) continue;
    const signer = candidates[index];
    if (!signer) return "unsure";
    if (signature.signatureType !== 0x00 || signature.publicKeyAlgorithm !== PUBKEY_EDDSA_LEGACY || !(signature.hashAlgorithm in SIGNATURE_HASHES))
      return "unsure";
    if (signature.created < signer.validFrom) return "unsure";
    if (signature.created > Math.floor(now / 1000)) continue; // "creation time is in the future": invalid
    if (!checks(signature, data, signer.publicKey)) continue;
    return { signer: { fingerprint: signer.fingerprint, signedAt: signature.created * 1000 } };
  }
  return { signer: undefined };
}

/** The digest's left 16 bits and the Ed25519 signature over the digest. */
function checks(signature: ParsedSignature, data: Uint8Array, publicKey: KeyObject): boolean {
  const { hashedHead } = signature;
  const trailer = Buffer.alloc(6);
  trailer.writeUInt8(4, 0);
  trailer.writeUInt8(0xff, 1);
  trailer.writeUInt32BE(hashedHead.length, 2);
  const digest = createHash(SIGNATURE_HASHES[signature.hashAlgorithm as keyof typeof SIGNATURE_HASHES])
    .update(data)
    .update(hashedHead)
    .update(trailer)
    .digest();
  if (digest[0] !== signature.left16[0] || digest[1] !== signature.left16[1]) return false;
  try {
    return verify(null, digest, publicKey, signature.rs);
  } catch {
    return false;
  }
}

/**
 * A v4 signature packet body (RFC 9580 §5.2.3), or undefined for any other version, a subpacket
 * not listed in SUBPACKET (or a critical one other than the creation time), a missing or repeated
 * creation time, no issuer or two that disagree, an MPI longer than 32 bytes, or trailing bytes.
 */
export function parseSignature(body: Uint8Array): ParsedSignature | undefined {
  if (body.length < 6 || body[0] !== 4) return undefined;
  const hashedLength = (body[4]! << 8) | body[5]!;
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd + 2 > body.length) return undefined;
  const unhashedEnd = hashedEnd + 2 + ((body[hashedEnd]! << 8) | body[hashedEnd + 1]!);
  const found: { created?: number; keyId?: Uint8Array; fingerprintKeyId?: Uint8Array } = {};
  if (!readSubpackets(body.subarray(6, hashedEnd), true, found)) return undefined;
  if (unhashedEnd > body.length || !readSubpackets(body.subarray(hashedEnd + 2, unhashedEnd), false, found)) return undefined;
  if (found.created === undefined) return undefined;
  const { keyId, fingerprintKeyId } = found;
  if (keyId && fingerprintKeyId && !Buffer.from(keyId).equals(fingerprintKeyId)) return undefined;
  const issuerKeyId = keyId ?? fingerprintKeyId;
  if (!issuerKeyId) return undefined;
  let i = unhashedEnd;
  if (i + 2 > body.length) return undefined;
  const left16 = body.subarray(i, i + 2);
  i += 2;
  const r = readMpi(body, i);
  if (!r) return undefined;
  const s = readMpi(body, r.end);
  if (!s || s.end !== body.length) return undefined;
  const rs = Buffer.concat([new Uint8Array(32 - r.value.length), r.value, new Uint8Array(32 - s.value.length), s.value]);
  return {
    signatureType: body[1]!,
    publicKeyAlgorithm: body[2]!,
    hashAlgorithm: body[3]!,
    issuerKeyId,
    created: found.created,
    hashedHead: body.subarray(0, hashedEnd),
    left16,
    rs,
  };
}

/** Reads one subpacket area into `found`; false on anything this does not judge. */
function readSubpackets(area: Uint8Array, hashed: boolean, found: { created?: number; keyId?: Uint8Array; fingerprintKeyId?: Uint8Array }): boolean {
  let i = 0;
  while (i < area.length) {
    const first = area[i]!;
    let length: number;
    if (first < 192) {
      length = first;
      i += 1;
    } else if (first < 255) {
      if (i + 1 >= area.length) return false;
      length = ((first - 192) << 8) + area[i + 1]! + 192;
      i += 2;
    } else {
      if (i + 4 >= area.length) return false;
      length = Buffer.from(area.subarray(i + 1, i + 5)).readUInt32BE(0);
      i += 5;
    }
    if (length < 1 || i + length > area.length) return false;
    const critical = (area[i]! & 0x80) !== 0;
    const type = area[i]! & 0x7f;
    const content = area.subarray(i + 1, i + length);
    i += length;
    if (!hashed) {
      // openpgp.js reads only the issuer subpackets and an embedded signature from the unhashed
      // area, and passes over the rest, critical or not.
      if (type === SUBPACKET.ISSUER_KEY_ID || type === SUBPACKET.ISSUER_FINGERPRINT) {
        if (!readIssuer(type, content, found)) return false;
      } else if (type === EMBEDDED_SIGNATURE) return false;
      continue;
    }
    switch (type) {
      case SUBPACKET.CREATED:
        if (found.created !== undefined || content.length !== 4) return false;
        found.created = Buffer.from(content).readUInt32BE(0);
        break;
      case SUBPACKET.ISSUER_KEY_ID:
      case SUBPACKET.ISSUER_FINGERPRINT:
        if (!readIssuer(type, content, found)) return false;
        break;
      case SUBPACKET.NOTATION:
        // openpgp.js refuses a critical notation it does not know; it knows none Delta Chat uses.
        if (critical || !isNotation(content)) return false;
        break;
      default:
        // A subpacket openpgp.js reads means something (an expiry, a revocation key, …): not judged
        // here. One it does not know (35, the intended recipient, which cores write) it keeps aside
        // and ignores unless critical, when it refuses the signature.
        if (critical || OPENPGPJS_READS.has(type)) return false;
    }
  }
  return true;
}

/** An issuer key ID (16) or a v4 issuer fingerprint (33, its last 8 bytes the key ID); false when malformed or repeated. */
function readIssuer(type: number, content: Uint8Array, found: { keyId?: Uint8Array; fingerprintKeyId?: Uint8Array }): boolean {
  if (type === SUBPACKET.ISSUER_KEY_ID) {
    if (content.length !== 8 || found.keyId) return false;
    found.keyId = content;
    return true;
  }
  if (content.length !== 21 || content[0] !== 4 || found.fingerprintKeyId) return false;
  found.fingerprintKeyId = content.subarray(13);
  return true;
}

/** A notation's body: 4 flag bytes, the name's and the value's lengths, then exactly those bytes. */
function isNotation(content: Uint8Array): boolean {
  if (content.length < 8) return false;
  const nameLength = (content[4]! << 8) | content[5]!;
  const valueLength = (content[6]! << 8) | content[7]!;
  return content.length === 8 + nameLength + valueLength;
}

/** An MPI of at most 32 bytes at `at`: its bytes (the bit count must match) and where it ends. */
function readMpi(bytes: Uint8Array, at: number): { value: Uint8Array; end: number } | undefined {
  if (at + 2 > bytes.length) return undefined;
  const bits = (bytes[at]! << 8) | bytes[at + 1]!;
  const length = (bits + 7) >> 3;
  if (length > 32 || at + 2 + length > bytes.length) return undefined;
  const value = bytes.subarray(at + 2, at + 2 + length);
  return { value, end: at + 2 + length };
}

/** `key`'s primary as a SignerKey (once per key object), or null when openpgp.js must judge it. */
function signerKeyOf(key: openpgp.PublicKey): Promise<SignerKey | null> {
  let known = signerKeys.get(key);
  if (!known) {
    known = signerKeyFrom(key).catch(() => null);
    signerKeys.set(key, known);
  }
  return known;
}

/**
 * openpgp.js judges a signing key at the signature's creation time (`getSigningKey(id, created)`:
 * not revoked, not expired, a valid self-signature then, the sign flag). Here that judgement is made
 * once, by openpgp.js, at the time of the first look, and carried over only to times after every
 * signature on the key was made — when the same self-signatures exist — and only for a key with
 * nothing that changes with time: no expiry of the key or of a self-signature, no revocation.
 */
async function signerKeyFrom(key: openpgp.PublicKey): Promise<SignerKey | null> {
  const packet = key.keyPacket as unknown as { version: number; algorithm: number; publicParams: { Q?: unknown }; created: Date };
  const Q = packet.publicParams.Q;
  if (packet.version !== 4 || packet.algorithm !== PUBKEY_EDDSA_LEGACY || !(Q instanceof Uint8Array) || Q.length !== 33 || Q[0] !== 0x40) return null;
  if (key.revocationSignatures.length > 0 || (await key.getExpirationTime()) !== Infinity) return null;
  if (key.users.some((user) => user.revocationSignatures.length > 0)) return null;
  // Direct-key signatures are in openpgp.js's key but not in its types.
  const direct = (key as unknown as { directSignatures?: openpgp.SignaturePacket[] }).directSignatures ?? [];
  const selfSignatures = [...direct, ...key.users.flatMap((user) => user.selfCertifications)];
  let validFrom = packet.created.getTime();
  for (const signature of selfSignatures) {
    const { created, keyNeverExpires, keyExpirationTime, signatureNeverExpires, signatureExpirationTime } = signature as unknown as {
      created: Date | null;
      keyNeverExpires: boolean | null;
      keyExpirationTime: number | null;
      signatureNeverExpires: boolean;
      signatureExpirationTime: number | null;
    };
    if (!created) return null;
    if ((signatureExpirationTime && !signatureNeverExpires) || (keyExpirationTime && !keyNeverExpires)) return null;
    validFrom = Math.max(validFrom, created.getTime());
  }
  const signing = await key.getSigningKey(key.getKeyID(), new Date());
  if (!signing.getKeyID().equals(key.getKeyID())) return null;
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(Q.subarray(1)).toString("base64url") }, format: "jwk" });
  return { fingerprint: fingerprintOf(key), publicKey, validFrom: Math.ceil(validFrom / 1000) };
}
