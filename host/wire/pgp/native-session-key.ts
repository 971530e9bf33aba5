// The session key of an incoming message, opened with node:crypto (issue 15, part 2: CPU per echo).
// openpgp.js opens a PKESK with a WebCrypto key import and an asynchronous X25519 job each (~1.5 ms
// of CPU), and real cores hide their recipients, so it tried the bot's key on every PKESK. Here
// each PKESK addressed to the bot's Curve25519Legacy subkey (or to the wildcard key ID) costs one
// synchronous X25519 and one AES key unwrap (~0.1 ms); the first that opens — the unwrap's
// integrity check, the padding and the checksum all hold — gives the session key, and openpgp.js
// then decrypts the SEIPD and checks the signatures with it. Only v3 PKESKs (SEIPDv1 mail: what
// cores send a bot, whose key advertises SEIPDv1 only); v6 ones go to openpgp.js. The packets are
// openpgp.js's parse of the message (decrypt.ts checked its shape first); nothing here reads raw
// mail. When no PKESK opens, or the bot's key is of another kind, the result is undefined and
// decrypt.ts lets openpgp.js try, as before (it also knows the KDF quirks of old implementations).
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import * as openpgp from "openpgp";
import { AES_CIPHERS, type EcdhSubkey, ecdhSubkey, PUBKEY_ECDH, unwrapSessionKey, x25519PublicKey } from "./ecdh-curve25519.js";
import type { BotIdentity } from "./identity.js";
import { type PacketFrame, PacketTag } from "./packets.js";

/** The bot's encryption subkey as node:crypto takes it. */
interface DecryptionKey {
  keyId: openpgp.KeyID;
  subkey: EcdhSubkey;
  privateKey: KeyObject;
}

/** Per identity: its decryption key, or null when its subkey is not of the kind opened here. */
const decryptionKeys = new WeakMap<openpgp.PrivateKey, DecryptionKey | null>();

export interface SessionKey {
  data: Uint8Array;
  algorithm: "aes128" | "aes192" | "aes256";
}

/** The session key of the first of `message`'s PKESKs the bot's key opens, or undefined. */
export async function nativeSessionKey(message: openpgp.Message<Uint8Array>, bot: BotIdentity): Promise<SessionKey | undefined> {
  const key = await decryptionKeyOf(bot);
  if (!key) return undefined;
  const pkesks = message.packets.filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey) as unknown as Array<{
    version: number;
    publicKeyAlgorithm: number;
    publicKeyID: openpgp.KeyID;
    encrypted: { V?: unknown; C?: { data?: unknown } };
  }>;
  for (const pkesk of pkesks) {
    if (pkesk.version !== 3 || pkesk.publicKeyAlgorithm !== PUBKEY_ECDH) continue;
    if (!pkesk.publicKeyID.equals(key.keyId, true)) continue; // true: the wildcard ID matches too
    const { V, C } = pkesk.encrypted;
    const wrapped = C?.data;
    if (!(V instanceof Uint8Array) || V.length !== 33 || V[0] !== 0x40) continue;
    if (!(wrapped instanceof Uint8Array) || wrapped.length < 24 || wrapped.length % 8 !== 0) continue;
    const opened = open(key, V.subarray(1), wrapped);
    if (opened) return opened;
  }
  return undefined;
}

/**
 * The session keys that the bot's key opens from the raw packets (`frames` of `binary`, whose shape
 * decrypt.ts checked), last PKESK first (core writes the sender's own first, so a 1:1 mail opens on
 * the first try); native-decrypt.ts opens a message without openpgp.js parsing it. Each distinct key
 * once, and at most `limit + 1` of them: one more than the caller will try says "too many". A v3 ECDH PKESK body is the
 * version, the 8-byte key ID, the algorithm, the ephemeral point as an MPI (263 bits: 0x40 and 32
 * bytes), then the wrapped key with a one-octet length (RFC 9580 §5.1.3, RFC 6637 §8); any other
 * body is passed over. undefined when the bot's key is not of the kind opened here.
 */
export async function nativeSessionKeysOfFrames(
  binary: Uint8Array,
  frames: readonly PacketFrame[],
  bot: BotIdentity,
  limit: number,
): Promise<SessionKey[] | undefined> {
  const key = await decryptionKeyOf(bot);
  if (!key) return undefined;
  const keyId = Buffer.from(key.keyId.toHex(), "hex");
  const opened: SessionKey[] = [];
  for (let i = frames.length - 1; i >= 0 && opened.length <= limit; i--) {
    const frame = frames[i]!;
    if (frame.tag !== PacketTag.PKESK || frame.partial) continue;
    const body = binary.subarray(frame.bodyStart, frame.end);
    if (body.length < 1 + 8 + 1 + 2 + 33 + 1 || body[0] !== 3 || body[9] !== PUBKEY_ECDH) continue;
    const id = body.subarray(1, 9);
    if (!id.every((byte) => byte === 0) && !keyId.equals(id)) continue; // all zero: the wildcard ID
    if (body[10] !== 0x01 || body[11] !== 0x07 || body[12] !== 0x40) continue; // 263 bits, the 0x40 prefix
    const wrappedLength = body[45]!;
    if (body.length !== 46 + wrappedLength || wrappedLength < 24 || wrappedLength % 8 !== 0) continue;
    const sessionKey = open(key, body.subarray(13, 45), body.subarray(46));
    // The same session key in two PKESKs is one key (one pass over the message), as openpgp.js counts it.
    const known = (other: SessionKey) => other.algorithm === sessionKey!.algorithm && Buffer.from(other.data).equals(sessionKey!.data);
    if (sessionKey && !opened.some(known)) opened.push(sessionKey);
  }
  return opened;
}

/** One PKESK's session key, or undefined when the bot's key does not open it. */
function open(key: DecryptionKey, ephemeral: Uint8Array, wrapped: Uint8Array): SessionKey | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: key.privateKey, publicKey: x25519PublicKey(ephemeral) });
  } catch {
    return undefined; // node refuses an agreement that comes out all zero (a small-order point): not ours
  }
  const opened = unwrapSessionKey(key.subkey, shared, wrapped);
  return opened && { data: opened.data, algorithm: AES_CIPHERS[opened.cipher].name };
}

/** The bot's v4 ECDH Curve25519Legacy subkey with SHA-2/AES KDF parameters, as node keys; null for any other kind. */
async function decryptionKeyOf(bot: BotIdentity): Promise<DecryptionKey | null> {
  const known = decryptionKeys.get(bot.privateKey);
  if (known !== undefined) return known;
  let key: DecryptionKey | null = null;
  try {
    const subkeys = await bot.privateKey.getDecryptionKeys();
    key = subkeys.length === 1 ? toDecryptionKey(subkeys[0]!) : null;
  } catch {
    key = null;
  }
  decryptionKeys.set(bot.privateKey, key);
  return key;
}

function toDecryptionKey(key: openpgp.PrivateKey | openpgp.Subkey): DecryptionKey | null {
  const subkey = ecdhSubkey(key.keyPacket);
  const d = (key.keyPacket as unknown as { privateParams?: { d?: unknown } }).privateParams?.d;
  if (!subkey || !(d instanceof Uint8Array) || d.length > 32) return null;
  // The legacy secret is stored big-endian (an MPI, leading zeros dropped); X25519 takes it little-endian.
  const secret = Buffer.concat([new Uint8Array(32 - d.length), d]).reverse();
  const x = Buffer.from(subkey.publicKey).toString("base64url");
  const privateKey = createPrivateKey({ key: { kty: "OKP", crv: "X25519", d: secret.toString("base64url"), x }, format: "jwk" });
  // The secret must be the public key's: else this is not the key openpgp.js would use.
  if (createPublicKey(privateKey).export({ format: "jwk" }).x !== x) return null;
  return { keyId: key.getKeyID(), subkey, privateKey };
}
