// OpenPGP's ECDH over Curve25519Legacy (RFC 6637 §7–8, RFC 9580 §11.5), the part that writing a
// PKESK (native-encrypt.ts) and opening one (native-session-key.ts) share: which subkeys it is,
// the key-encryption key the KDF makes from an X25519 agreement, and the session key's wrapping
// (algorithm, key, checksum, PKCS#5 padding, AES key wrap). One place, so the two sides cannot
// drift apart.
import { createCipheriv, createDecipheriv, createHash, createPublicKey, type KeyObject } from "node:crypto";

/** RFC 9580's public-key algorithm id of ECDH. */
export const PUBKEY_ECDH = 18;
/** The KDF hashes by OpenPGP id (node's names). */
export const KDF_HASHES = { 8: "sha256", 9: "sha384", 10: "sha512" } as const;
/** AES by OpenPGP id: key length, node's names for CFB and for RFC 3394's key wrap, openpgp.js's name. */
export const AES_CIPHERS = {
  7: { bytes: 16, cfb: "aes-128-cfb", wrap: "id-aes128-wrap", name: "aes128" },
  8: { bytes: 24, cfb: "aes-192-cfb", wrap: "id-aes192-wrap", name: "aes192" },
  9: { bytes: 32, cfb: "aes-256-cfb", wrap: "id-aes256-wrap", name: "aes256" },
} as const;
export type HashId = keyof typeof KDF_HASHES;
export type AesId = keyof typeof AES_CIPHERS;
/** RFC 3394's default initial value: the unwrap checks it (the wrap's integrity check). */
const KEY_WRAP_IV = Buffer.from("A6A6A6A6A6A6A6A6", "hex");

/** The OID of Curve25519Legacy (1.3.6.1.4.1.3029.1.5.1). */
const CURVE25519_LEGACY_OID = Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01]);
const ANONYMOUS_SENDER = new TextEncoder().encode("Anonymous Sender    ");

/** An ECDH subkey over Curve25519Legacy with SHA-2 and AES KDF parameters. */
export interface EcdhSubkey {
  /** Its X25519 public key, the 32 bytes after the 0x40 prefix. */
  publicKey: Uint8Array;
  kdfHash: HashId;
  kdfCipher: AesId;
  /** Its v4 fingerprint, 20 bytes: the KDF's last parameter. */
  fingerprint: Uint8Array;
}

/** The shape of openpgp.js's key packet that is read here. */
interface KeyPacketFields {
  version: number;
  algorithm: number;
  publicParams: { oid?: { toHex(): string }; Q?: unknown; kdfParams?: { hash: number; cipher: number } };
  getFingerprintBytes(): Uint8Array | null;
}

/** `keyPacket` (openpgp.js's) as an EcdhSubkey, or null when it is of another kind. */
export function ecdhSubkey(keyPacket: unknown): EcdhSubkey | null {
  const packet = keyPacket as KeyPacketFields;
  if (packet.version !== 4 || packet.algorithm !== PUBKEY_ECDH) return null;
  const { oid, Q, kdfParams } = packet.publicParams;
  if (oid?.toHex() !== Buffer.from(CURVE25519_LEGACY_OID).toString("hex")) return null;
  if (!(Q instanceof Uint8Array) || Q.length !== 33 || Q[0] !== 0x40 || !kdfParams) return null;
  if (!(kdfParams.hash in KDF_HASHES) || !(kdfParams.cipher in AES_CIPHERS)) return null;
  const fingerprint = packet.getFingerprintBytes();
  if (!(fingerprint instanceof Uint8Array) || fingerprint.length !== 20) return null;
  return { publicKey: Q.subarray(1), kdfHash: kdfParams.hash as HashId, kdfCipher: kdfParams.cipher as AesId, fingerprint };
}

/** `sessionKey` (for cipher `cipherId`) wrapped for `subkey` with the key-encryption key of the X25519 agreement `shared`. */
export function wrapSessionKey(subkey: EcdhSubkey, shared: Uint8Array, cipherId: AesId, sessionKey: Uint8Array): Buffer {
  const sum = checksum(sessionKey);
  const material = Buffer.concat([Uint8Array.of(cipherId), sessionKey, Uint8Array.of(sum >> 8, sum & 0xff)]);
  const padding = 8 - (material.length % 8);
  const wrap = createCipheriv(AES_CIPHERS[subkey.kdfCipher].wrap, keyEncryptionKey(subkey, shared), KEY_WRAP_IV);
  return Buffer.concat([wrap.update(Buffer.concat([material, new Uint8Array(padding).fill(padding)])), wrap.final()]);
}

/**
 * The session key in `wrapped` for `subkey` and the agreement `shared`, or undefined when it does
 * not unwrap (the wrap's integrity check: another recipient's PKESK) or its padding, algorithm or
 * checksum is wrong.
 */
export function unwrapSessionKey(subkey: EcdhSubkey, shared: Uint8Array, wrapped: Uint8Array): { data: Uint8Array; cipher: AesId } | undefined {
  let material: Buffer;
  try {
    const unwrap = createDecipheriv(AES_CIPHERS[subkey.kdfCipher].wrap, keyEncryptionKey(subkey, shared), KEY_WRAP_IV);
    material = Buffer.concat([unwrap.update(wrapped), unwrap.final()]);
  } catch {
    return undefined;
  }
  const padding = material.at(-1)!;
  if (padding < 1 || padding > 8 || padding > material.length) return undefined;
  for (let i = material.length - padding; i < material.length; i++) if (material[i] !== padding) return undefined;
  const decoded = material.subarray(0, material.length - padding);
  const cipher = decoded[0]!;
  if (!(cipher in AES_CIPHERS)) return undefined;
  const { bytes } = AES_CIPHERS[cipher as AesId];
  if (decoded.length !== 1 + bytes + 2) return undefined;
  const data = decoded.subarray(1, 1 + bytes);
  if (checksum(data) !== decoded.readUInt16BE(1 + bytes)) return undefined;
  return { data: Uint8Array.from(data), cipher: cipher as AesId };
}

/** The session key's two-byte checksum: the sum of its bytes mod 65 536. */
function checksum(key: Uint8Array): number {
  let sum = 0;
  for (const byte of key) sum = (sum + byte) % 65536;
  return sum;
}

/** The key-encryption key for `subkey` from an X25519 agreement `shared` (RFC 6637 §7: one KDF round, cut to the cipher's key length). */
function keyEncryptionKey(subkey: EcdhSubkey, shared: Uint8Array): Buffer {
  const param = Buffer.concat([
    Uint8Array.of(CURVE25519_LEGACY_OID.length),
    CURVE25519_LEGACY_OID,
    Uint8Array.of(PUBKEY_ECDH, 3, 1, subkey.kdfHash, subkey.kdfCipher),
    ANONYMOUS_SENDER,
    subkey.fingerprint,
  ]);
  return createHash(KDF_HASHES[subkey.kdfHash])
    .update(Uint8Array.of(0, 0, 0, 1))
    .update(shared)
    .update(param)
    .digest()
    .subarray(0, AES_CIPHERS[subkey.kdfCipher].bytes);
}

/** 32 raw bytes as node's X25519 public key. */
export function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}
