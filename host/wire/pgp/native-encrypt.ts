// Sign and encrypt with node:crypto for the keys Delta Chat uses (issue 15, part 2: CPU per echo).
// openpgp.js spent ~4 ms of CPU on one reply, most of it in WebCrypto's asynchronous machinery
// (a key import and a thread-pool job for each X25519, Ed25519 and AES step); the same primitives
// called synchronously cost ~0.5 ms. This writes the message openpgp.js writes for these keys,
// packet for packet (RFC 9580 §5.1, §5.2, §5.4, §5.9, §5.13; ECDH of RFC 6637 / RFC 9580 §11.5):
//   PKESK v3 (ECDH over Curve25519Legacy) per key, then SEIPD v1 holding a one-pass signature,
//   the binary literal data and a v4 EdDSALegacy signature (the same hashed subpackets as
//   openpgp.js: creation time, issuer key ID, a salt notation, issuer fingerprint), then the MDC.
// It only writes; it never parses mail. Any key of another kind (RSA, NIST curves, X25519 of RFC
// 9580, a v6 key), a key whose preferences leave no shared AES or SHA-2, or any failure while
// choosing returns null, and encrypt.ts lets openpgp.js do the message (which also reports the
// errors). Checked by decrypting and verifying its output with openpgp.js, beside openpgp.js's own
// output for the same keys (test/host/wire/pgp/native-encrypt.test.ts), and by every e2e test whose
// Delta Chat core reads the bot's replies.
import { createCipheriv, createHash, createPrivateKey, diffieHellman, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import type * as openpgp from "openpgp";
import {
  AES_CIPHERS,
  type AesId,
  type EcdhSubkey,
  ecdhSubkey,
  type HashId,
  KDF_HASHES,
  PUBKEY_ECDH,
  wrapSessionKey,
  x25519PublicKey,
} from "./ecdh-curve25519.js";
import type { BotIdentity } from "./identity.js";

/** RFC 9580's public-key algorithm id of EdDSALegacy. */
const PUBKEY_EDDSA_LEGACY = 22;
/** openpgp.js's salt notation on v4 EdDSA signatures (against fault attacks on deterministic signing). */
const SALT_NOTATION_NAME = new TextEncoder().encode("salt@notations.openpgpjs.org");
const SALT_BYTES = 32;

/** One recipient's encryption subkey, as the ECDH of RFC 6637 needs it. */
interface EcdhRecipient {
  keyId: Uint8Array;
  subkey: EcdhSubkey;
  publicKey: KeyObject;
}

interface Plan {
  recipients: EcdhRecipient[];
  sessionCipher: AesId;
  signatureHash: HashId;
}

/** The bot's signing key as node:crypto takes it (made once per identity). */
const signingKeys = new WeakMap<openpgp.PrivateKey, KeyObject>();

/**
 * The binary OpenPGP message: `data` signed by the bot's primary key and encrypted to `keys` (the
 * bot's own among them, each once). null when a key is of a kind this does not write for.
 */
export async function nativeSignAndEncrypt(data: Uint8Array, keys: openpgp.PublicKey[], bot: BotIdentity, now: Date = new Date()): Promise<Uint8Array | null> {
  const plan = await planFor(keys, now);
  const signingKey = plan && botSigningKey(bot);
  if (!plan || !signingKey) return null;
  const created = Math.floor(now.getTime() / 1000);
  const botKeyId = Buffer.from(bot.privateKey.getKeyID().toHex(), "hex");
  const onePass = packet(4, concat([Uint8Array.of(3, 0x00, plan.signatureHash, PUBKEY_EDDSA_LEGACY), botKeyId, Uint8Array.of(1)]));
  const literal = packet(11, concat([Uint8Array.of(0x62, 0), uint32(created), data]));
  const signature = packet(2, signatureBody(data, plan.signatureHash, created, botKeyId, bot.privateKey.keyPacket.getFingerprintBytes()!, signingKey));
  const { bytes: keyBytes } = AES_CIPHERS[plan.sessionCipher];
  const sessionKey = randomBytes(keyBytes);
  const pkesks = plan.recipients.map((recipient) => packet(1, pkeskBody(recipient, plan.sessionCipher, sessionKey)));
  const seipd = packet(18, seipdBody(concat([onePass, literal, signature]), plan.sessionCipher, sessionKey));
  return concat([...pkesks, seipd]);
}

/** What to write with, or null when a key is not of the kinds written here. */
async function planFor(keys: openpgp.PublicKey[], now: Date): Promise<Plan | null> {
  try {
    const recipients: EcdhRecipient[] = [];
    const symmetric: Array<readonly number[] | null> = [];
    const hashes: Array<readonly number[] | null> = [];
    for (const key of keys) {
      const checked = await checkedKey(key, now);
      if (!checked) return null;
      recipients.push(checked.recipient);
      symmetric.push(checked.symmetric);
      hashes.push(checked.hashes);
    }
    // As openpgp.js chooses: AES-256 when every key lists it, else AES-128 (every implementation
    // has it); the signature's hash the strongest SHA-2 every key lists (a key without preferences
    // takes SHA-256).
    const sessionCipher: AesId = symmetric.every((prefs) => prefs?.includes(9)) ? 9 : 7;
    const signatureHash = ([10, 9, 8] as const).find((hash) => hashes.every((prefs) => (prefs ? prefs.includes(hash) : hash === 8)));
    if (signatureHash === undefined) return null;
    return { recipients, sessionCipher, signatureHash };
  } catch {
    return null;
  }
}

/** What one recipient key gives a message: its ECDH subkey and its preferences, as openpgp.js found them at `checkedAt`. */
interface CheckedKey {
  recipient: EcdhRecipient;
  symmetric: readonly number[] | null;
  hashes: readonly number[] | null;
  /** When openpgp.js checked the key, ms since the epoch. */
  checkedAt: number;
  /** Until when the check stands: CHECKED_KEY_MS after it, or the key's or subkey's expiry if sooner, ms. */
  validUntil: number;
}

/**
 * How long a recipient key's check stands, ms. openpgp.js verifies every self-signature and
 * binding signature again on each getEncryptionKey and getPrimaryUser (~0.5 ms of CPU a reply for
 * the two keys, measured in the pipeline's profile); a parsed key object never changes (a new
 * Autocrypt key is a new object, peer-store.ts), so only time can change the answer: an expiry,
 * which bounds the entry, or a signature or subkey dated in the future, picked up within this.
 */
const CHECKED_KEY_MS = 60_000;

/** Per parsed key (the peer store keeps the objects; the bot's own lives with its identity): its last check. */
const checkedKeys = new WeakMap<openpgp.PublicKey, CheckedKey>();

/** The key's ECDH recipient and preferences at `now` (openpgp.js's checks, reused while they stand), or null when it is not a key written for here. */
async function checkedKey(key: openpgp.PublicKey, now: Date): Promise<CheckedKey | null> {
  const at = now.getTime();
  const known = checkedKeys.get(key);
  if (known && at >= known.checkedAt && at < known.validUntil) return known;
  checkedKeys.delete(key);
  if (key.keyPacket.version !== 4) return null;
  const subkey = await key.getEncryptionKey(undefined, now);
  const recipient = ecdhRecipient(subkey);
  if (!recipient) return null;
  const { selfCertification } = await key.getPrimaryUser(now);
  const expiries = [await key.getExpirationTime(), "bindingSignatures" in subkey ? await subkey.getExpirationTime(now) : Number.POSITIVE_INFINITY];
  const validUntil = Math.min(at + CHECKED_KEY_MS, ...expiries.map((expiry) => (expiry instanceof Date ? expiry.getTime() : expiry === null ? at : expiry)));
  const checked: CheckedKey = {
    recipient,
    symmetric: selfCertification.preferredSymmetricAlgorithms ?? null,
    hashes: selfCertification.preferredHashAlgorithms ?? null,
    checkedAt: at,
    validUntil,
  };
  checkedKeys.set(key, checked);
  return checked;
}

/** A v4 ECDH encryption subkey over Curve25519Legacy with SHA-2 and AES KDF parameters, else null. */
function ecdhRecipient(key: openpgp.PublicKey | openpgp.Subkey): EcdhRecipient | null {
  const subkey = ecdhSubkey(key.keyPacket);
  return subkey && { keyId: Buffer.from(key.getKeyID().toHex(), "hex"), subkey, publicKey: x25519PublicKey(subkey.publicKey) };
}

/** The bot's primary key as an Ed25519 private key, or null when it is not a v4 EdDSALegacy key with its seed. */
function botSigningKey(bot: BotIdentity): KeyObject | null {
  const known = signingKeys.get(bot.privateKey);
  if (known) return known;
  const packet = bot.privateKey.keyPacket as unknown as {
    version: number;
    algorithm: number;
    publicParams: { Q?: Uint8Array };
    privateParams?: { seed?: Uint8Array };
  };
  const seed = packet.privateParams?.seed;
  const Q = packet.publicParams.Q;
  if (packet.version !== 4 || packet.algorithm !== PUBKEY_EDDSA_LEGACY || !(seed instanceof Uint8Array) || !(Q instanceof Uint8Array) || Q.length !== 33)
    return null;
  // An MPI drops leading zero bytes: the seed is 32 bytes, left-padded.
  const seed32 = concat([new Uint8Array(32 - seed.length), seed]);
  const key = createPrivateKey({
    key: { kty: "OKP", crv: "Ed25519", d: Buffer.from(seed32).toString("base64url"), x: Buffer.from(Q.subarray(1)).toString("base64url") },
    format: "jwk",
  });
  signingKeys.set(bot.privateKey, key);
  return key;
}

/** A v4 binary-document signature over `data` (RFC 9580 §5.2.4): EdDSALegacy signs the digest; R and S as MPIs. */
function signatureBody(data: Uint8Array, hashId: HashId, created: number, keyId: Uint8Array, fingerprint: Uint8Array, key: KeyObject): Uint8Array {
  const salt = randomBytes(SALT_BYTES);
  const notation = concat([Uint8Array.of(0, 0, 0, 0), uint16(SALT_NOTATION_NAME.length), uint16(SALT_BYTES), SALT_NOTATION_NAME, salt]);
  // The creation time is critical (0x80), as openpgp.js and RFC 9580 §5.2.3.11 have it.
  const hashed = concat([
    subpacket(0x80 | 2, uint32(created)),
    subpacket(16, keyId),
    subpacket(20, notation),
    subpacket(33, concat([Uint8Array.of(4), fingerprint])),
  ]);
  const head = concat([Uint8Array.of(4, 0x00, PUBKEY_EDDSA_LEGACY, hashId), uint16(hashed.length), hashed]);
  const digest = createHash(KDF_HASHES[hashId]).update(data).update(head).update(Uint8Array.of(4, 0xff)).update(uint32(head.length)).digest();
  const rs = sign(null, digest, key);
  return concat([head, uint16(0), digest.subarray(0, 2), mpi(rs.subarray(0, 32)), mpi(rs.subarray(32))]);
}

/** A v3 PKESK for one ECDH recipient (RFC 6637 §8, RFC 9580 §11.5): the session key wrapped with a KEK from an ephemeral X25519. */
function pkeskBody(recipient: EcdhRecipient, sessionCipher: AesId, sessionKey: Uint8Array): Uint8Array {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralPublic = Buffer.from(ephemeral.publicKey.export({ format: "jwk" }).x!, "base64url");
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.publicKey });
  const wrapped = wrapSessionKey(recipient.subkey, shared, sessionCipher, sessionKey);
  return concat([
    Uint8Array.of(3),
    recipient.keyId,
    Uint8Array.of(PUBKEY_ECDH),
    mpi(concat([Uint8Array.of(0x40), ephemeralPublic])),
    Uint8Array.of(wrapped.length),
    wrapped,
  ]);
}

/** SEIPD v1 (RFC 9580 §5.13.1): CFB with a zero IV over a random prefix (its last two bytes repeated), the packets and the MDC. */
function seipdBody(plaintext: Uint8Array, cipherId: AesId, sessionKey: Uint8Array): Uint8Array {
  const random = randomBytes(16);
  const prefix = concat([random, random.subarray(14)]);
  const mdcHead = Uint8Array.of(0xd3, 0x14);
  const mdc = createHash("sha1").update(prefix).update(plaintext).update(mdcHead).digest();
  const cipher = createCipheriv(AES_CIPHERS[cipherId].cfb, sessionKey, Buffer.alloc(16));
  return concat([Uint8Array.of(1), cipher.update(concat([prefix, plaintext, mdcHead, mdc])), cipher.final()]);
}

/** A packet with an OpenPGP (new format) header: one-, two- or five-octet body length. */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const length = body.length;
  const header =
    length < 192
      ? Uint8Array.of(0xc0 | tag, length)
      : length < 8384
        ? Uint8Array.of(0xc0 | tag, ((length - 192) >> 8) + 192, (length - 192) & 0xff)
        : concat([Uint8Array.of(0xc0 | tag, 0xff), uint32(length)]);
  return concat([header, body]);
}

/** A signature subpacket (all bodies here are under 192 bytes: one-octet length). */
function subpacket(type: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(body.length + 1, type), body]);
}

/** An MPI: its bit count, then its bytes without leading zeros. */
function mpi(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  const value = bytes.subarray(start);
  const bits = value.length === 0 ? 0 : (value.length - 1) * 8 + (32 - Math.clz32(value[0]!));
  return concat([uint16(bits), value]);
}

function uint16(value: number): Uint8Array {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

function uint32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
