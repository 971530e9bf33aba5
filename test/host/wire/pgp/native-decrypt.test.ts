// Incoming mail decrypted and verified with node:crypto (native-decrypt.ts, native-verify.ts) must
// never change an outcome: for every message, decryptAndVerify equals openpgp.js alone
// (decryptAndVerifyWithOpenpgpJs) — the same inner bytes, signer and signing time, or the same
// error. Checked on what real cores sent (2.57 and 1.160 captures, the bench's recording of a
// 2.57 core writing to a bot), on what openpgp.js and the host write, and on hostile messages: a
// swapped literal under a genuine signature, forged and future creation times, subpackets that
// change a signature's meaning, a key re-signed after the signature, revoked and expiring keys,
// a flipped ciphertext byte, a zip bomb. Each case also says whether node:crypto decided it or
// handed it to openpgp.js.
import { createCipheriv, createHash, createPrivateKey, type KeyObject, randomBytes, sign } from "node:crypto";
import * as openpgp from "openpgp";
import { deflateRawSync, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { armorMessage, dearmorMessage } from "../../../../host/wire/pgp/armor.js";
import { decryptAndVerify, decryptAndVerifyWithOpenpgpJs, type Decrypted } from "../../../../host/wire/pgp/decrypt.js";
import { signAndEncrypt } from "../../../../host/wire/pgp/encrypt.js";
import type { BotIdentity } from "../../../../host/wire/pgp/identity.js";
import { identityFromArmored } from "../../../../host/wire/pgp/identity.js";
import { fingerprintOf } from "../../../../host/wire/pgp/autocrypt.js";
import { nativeDecryptAndVerify } from "../../../../host/wire/pgp/native-decrypt.js";
import { MESSAGE_SIGNATURES_MAX } from "../../../../core/limits.js";
import { readPacketFrames } from "../../../../host/wire/pgp/packets.js";
import { readRecording } from "../../../bench/real-core-fixtures.js";
import { errorCode } from "../../../support/errors.js";
import { newIdentity } from "../../../support/user-mail.js";
import { armoredPart, CORE_1160_RUN, fixtureText, RUNS, runKeys } from "./deltachat-fixtures.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };

/**
 * node:crypto's verdict alone: the result, "refused" (OPENED_SESSION_KEYS_MAX, or no opened key
 * passes the MDC), or "openpgp.js" when openpgp.js reads the message (all of it, or what is inside
 * the SEIPD node:crypto opened).
 */
async function nativeOnly(armored: string, bot: BotIdentity, keys: openpgp.PublicKey[], limits = LIMITS): Promise<Decrypted | "openpgp.js" | "refused"> {
  const binary = await dearmorMessage(armored, limits.maxBytes);
  const frames = readPacketFrames(binary, { legacyFormat: true })!;
  const reading = await nativeDecryptAndVerify(binary, frames, bot, keys, limits);
  if (reading?.kind === "read") return reading.result;
  return reading?.kind === "refused" ? "refused" : "openpgp.js";
}

/** The outcome of decryptAndVerify (with node:crypto) and of openpgp.js alone, comparable with toEqual. */
async function bothWays(armored: string, bot: BotIdentity, keys: openpgp.PublicKey[], limits = LIMITS) {
  const outcome = (promise: Promise<Decrypted>) =>
    promise.then(
      (result) => ({ inner: Buffer.from(result.inner).toString("base64"), signer: result.signerFingerprint, signedAt: result.signedAt }),
      async (error: unknown) => ({ error: await errorCode(Promise.reject(error)) }),
    );
  return {
    withNative: await outcome(decryptAndVerify(armored, bot, keys, limits)),
    openpgpJsAlone: await outcome(decryptAndVerifyWithOpenpgpJs(armored, bot, keys, limits)),
  };
}

describe("what real cores send: decided by node:crypto, the same as openpgp.js", () => {
  it("a core 2.57 writing to a bot (the bench's recording: join, texts, a file, a group): every PKESK mail natively, signed by the user", async () => {
    const recording = await readRecording();
    const bot = await identityFromArmored(recording.accountFiles["key.asc"]!, recording.botAddr);
    const armoredOf = (raw: Uint8Array) => /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(Buffer.from(raw).toString("latin1"))?.[0];
    // The user's key as the bot's account stored it (core 2.57 sends its Autocrypt header inside the encryption).
    const peers = JSON.parse(recording.accountFiles["peers.json"]!) as Record<string, { keydataBase64: string }>;
    const userKey = await openpgp.readKey({ binaryKey: Buffer.from(peers[recording.userAddr]!.keydataBase64, "base64") });
    let native = 0;
    for (const mail of recording.mails) {
      const armored = armoredOf(mail.raw);
      if (!armored) continue;
      const decided = await nativeOnly(armored, bot, [userKey!]);
      if (decided === "refused") throw new Error(`${mail.label}: refused by node:crypto`);
      if (decided === "openpgp.js") {
        // Only the symmetric SecureJoin step (SKESK + SEIPDv2) is not this shape.
        expect(readPacketFrames(await dearmorMessage(armored, LIMITS.maxBytes), { legacyFormat: true })![0]!.tag).toBe(3);
        continue;
      }
      native += 1;
      expect(decided.signerFingerprint, mail.label).toBe(fingerprintOf(userKey!));
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [userKey!]);
      expect(withNative).toEqual(openpgpJsAlone);
    }
    expect(native).toBeGreaterThanOrEqual(7);
  });

  for (const run of [...RUNS, CORE_1160_RUN]) {
    it(`${run}: captures 02–06 between two humans give the same result both ways (SEIPDv1 natively, SEIPDv2 by openpgp.js)`, async () => {
      const { A, B } = await runKeys(run);
      for (const n of ["02", "03", "04", "05", "06"]) {
        const eml = await fixtureText(`${run}/${n}.eml`);
        if (!eml.includes("BEGIN PGP MESSAGE")) continue;
        const [reader, writer] = Number(n) % 2 === 1 ? [B, A] : [A, B];
        const { withNative, openpgpJsAlone } = await bothWays(armoredPart(eml), reader.identity, [writer.publicKey]);
        expect(withNative, `${run}/${n}`).toEqual(openpgpJsAlone);
        const binary = await dearmorMessage(armoredPart(eml), LIMITS.maxBytes);
        const seipd = readPacketFrames(binary, { legacyFormat: true })!.at(-1)!;
        if (binary[seipd.bodyStart] === 1) {
          const decided = await nativeOnly(armoredPart(eml), reader.identity, [writer.publicKey]);
          expect(decided, `${run}/${n}`).not.toBe("openpgp.js");
          expect(withNative).toMatchObject({ signer: writer.fingerprint });
        }
      }
    });
  }
});

describe("what openpgp.js and the host write", () => {
  const compressions = [
    ["uncompressed", openpgp.enums.compression.uncompressed],
    ["ZIP", openpgp.enums.compression.zip],
    ["ZLIB", openpgp.enums.compression.zlib],
  ] as const;
  for (const [name, algorithm] of compressions) {
    for (const size of [0, 5_000, 300_000]) {
      it(`openpgp.js, ${name}, ${size} bytes (partial body lengths when large): natively, signer and bytes as openpgp.js`, async () => {
        const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
        const data = new Uint8Array(size).map((_, i) => (i * 7) % 251);
        const binary = await openpgp.encrypt({
          message: await openpgp.createMessage({ binary: data }),
          encryptionKeys: [bot.publicKey, alice.publicKey],
          signingKeys: alice.privateKey,
          format: "binary",
          config: { aeadProtect: false, preferredCompressionAlgorithm: algorithm },
        });
        const armored = armorMessage(binary);
        const decided = await nativeOnly(armored, bot, [alice.publicKey]);
        expect(decided).not.toBe("openpgp.js");
        expect((decided as Decrypted).signerFingerprint).toBe(alice.fingerprint);
        expect(Buffer.from((decided as Decrypted).inner).equals(data)).toBe(true);
        const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
        expect(withNative).toEqual(openpgpJsAlone);
      });
    }
  }

  it("an unsigned message: natively, no signer; a message signed by two keys: the verification key's signature counts", async () => {
    const [bot, alice, carol] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test"), newIdentity("carol@chat.test")]);
    const unsigned = armorMessage(
      await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: Uint8Array.of(1, 2, 3) }),
        encryptionKeys: bot.publicKey,
        format: "binary",
        config: { aeadProtect: false },
      }),
    );
    expect(await nativeOnly(unsigned, bot, [alice.publicKey])).toMatchObject({ signerFingerprint: undefined });
    const twice = armorMessage(
      await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: Uint8Array.of(1, 2, 3) }),
        encryptionKeys: bot.publicKey,
        signingKeys: [carol.privateKey, alice.privateKey],
        format: "binary",
        config: { aeadProtect: false },
      }),
    );
    for (const keys of [[alice.publicKey], [carol.publicKey], [], [bot.publicKey]]) {
      const { withNative, openpgpJsAlone } = await bothWays(twice, bot, keys);
      expect(withNative).toEqual(openpgpJsAlone);
    }
    expect(await nativeOnly(twice, bot, [alice.publicKey])).toMatchObject({ signerFingerprint: alice.fingerprint });
  });

  it("the host's own reply (signAndEncrypt) opens natively for its recipient, signed by the bot", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
    const armored = await signAndEncrypt("Subject: hi\r\n\r\nhello\r\n", [alice.publicKey], bot);
    expect(await nativeOnly(armored, alice, [bot.publicKey])).toMatchObject({ signerFingerprint: bot.fingerprint });
    const { withNative, openpgpJsAlone } = await bothWays(armored, alice, [bot.publicKey]);
    expect(withNative).toEqual(openpgpJsAlone);
  });
});

/** A v4 EdDSALegacy signature written by hand, so a test can put any subpacket, time or data in it. */
interface HandSignature {
  data: Uint8Array;
  created: number;
  hashedExtra?: Uint8Array[];
  unhashed?: Uint8Array[];
  hash?: 8 | 10;
  /** Sign `signedData` instead of `data` (a swapped literal). */
  signedData?: Uint8Array;
  spoilLeft16?: boolean;
}

const subpacket = (type: number, body: Uint8Array) => Buffer.concat([Uint8Array.of(body.length + 1, type), body]);
const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const mpi = (bytes: Uint8Array) => {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const value = bytes.subarray(start);
  return Buffer.concat([u16((value.length - 1) * 8 + (32 - Math.clz32(value[0]!))), value]);
};
const newPacket = (tag: number, body: Uint8Array) => Buffer.concat([Uint8Array.of(0xc0 | tag, 0xff), u32(body.length), body]);

function ed25519Of(identity: BotIdentity): { key: KeyObject; keyId: Uint8Array; fingerprint: Uint8Array } {
  const packet = identity.privateKey.keyPacket as unknown as { privateParams: { seed: Uint8Array }; publicParams: { Q: Uint8Array } };
  const seed = Buffer.concat([new Uint8Array(32 - packet.privateParams.seed.length), packet.privateParams.seed]);
  const key = createPrivateKey({
    key: { kty: "OKP", crv: "Ed25519", d: seed.toString("base64url"), x: Buffer.from(packet.publicParams.Q.subarray(1)).toString("base64url") },
    format: "jwk",
  });
  return { key, keyId: Buffer.from(identity.privateKey.getKeyID().toHex(), "hex"), fingerprint: identity.privateKey.keyPacket.getFingerprintBytes()! };
}

/** One-pass signature, literal, signature by `signer`, encrypted to `bot` (uncompressed). */
async function handSigned(signer: BotIdentity, bot: BotIdentity, spec: HandSignature): Promise<string> {
  return armorMessage(await encryptedAsIs(await handInner(signer, spec), bot));
}

/** The packets handSigned encrypts: one-pass signature, literal, signature by `signer`. */
async function handInner(signer: BotIdentity, spec: HandSignature): Promise<Uint8Array> {
  const { key, keyId, fingerprint } = ed25519Of(signer);
  const hashAlgorithm = spec.hash ?? 8;
  const hashed = Buffer.concat([
    subpacket(0x80 | 2, u32(spec.created)),
    subpacket(33, Buffer.concat([Uint8Array.of(4), fingerprint])),
    ...(spec.hashedExtra ?? []),
  ]);
  const head = Buffer.concat([Uint8Array.of(4, 0x00, 22, hashAlgorithm), u16(hashed.length), hashed]);
  const digest = createHash(hashAlgorithm === 8 ? "sha256" : "sha512")
    .update(spec.signedData ?? spec.data)
    .update(head)
    .update(Uint8Array.of(4, 0xff))
    .update(u32(head.length))
    .digest();
  const rs = sign(null, digest, key);
  const unhashed = Buffer.concat(spec.unhashed ?? [subpacket(16, keyId)]);
  const left16 = spec.spoilLeft16 ? Uint8Array.of(digest[0]! ^ 0xff, digest[1]!) : digest.subarray(0, 2);
  const signature = Buffer.concat([head, u16(unhashed.length), unhashed, left16, mpi(rs.subarray(0, 32)), mpi(rs.subarray(32))]);
  const inner = Buffer.concat([
    newPacket(4, Buffer.concat([Uint8Array.of(3, 0x00, hashAlgorithm, 22), keyId, Uint8Array.of(1)])),
    newPacket(11, Buffer.concat([Uint8Array.of(0x62, 0), u32(spec.created), spec.data])),
    newPacket(2, signature),
  ]);
  return inner;
}

/**
 * `inner` packets in a SEIPD v1 to `bot`, byte for byte (openpgp.js re-reads a message's packets
 * before encrypting and drops a trailing signature it did not make): its PKESK from openpgp.js with a
 * chosen session key, the SEIPD written here.
 */
async function encryptedAsIs(inner: Uint8Array, bot: BotIdentity): Promise<Uint8Array> {
  const sessionKey = randomBytes(16);
  const carrier = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: Uint8Array.of(0) }),
    encryptionKeys: bot.publicKey,
    sessionKey: { data: sessionKey, algorithm: "aes128" },
    format: "binary",
    config: { aeadProtect: false },
  });
  const pkesk = readPacketFrames(carrier, { legacyFormat: true })![0]!;
  const random = randomBytes(16);
  const prefix = Buffer.concat([random, random.subarray(14)]);
  const mdc = createHash("sha1").update(prefix).update(inner).update(Uint8Array.of(0xd3, 0x14)).digest();
  const cipher = createCipheriv("aes-128-cfb", sessionKey, Buffer.alloc(16));
  const body = Buffer.concat([Uint8Array.of(1), cipher.update(Buffer.concat([prefix, inner, Uint8Array.of(0xd3, 0x14), mdc])), cipher.final()]);
  return Buffer.concat([carrier.subarray(pkesk.start, pkesk.end), newPacket(18, body)]);
}

describe("hostile signatures: node:crypto decides only what it is sure of, and as openpgp.js would", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const notation = (critical: boolean, name: string, value: string) =>
    subpacket(
      (critical ? 0x80 : 0) | 20,
      Buffer.concat([Uint8Array.of(0x80, 0, 0, 0), u16(name.length), u16(value.length), Buffer.from(name), Buffer.from(value)]),
    );
  const cases: Array<
    [string, (fp: Uint8Array) => Omit<HandSignature, "data" | "created"> & { created?: number }, "valid" | "invalid", "native" | "openpgp.js"]
  > = [
    [
      "a well-made signature (hand-written like core's: intended recipient, unhashed issuer key ID)",
      (fp) => ({ hashedExtra: [subpacket(35, Buffer.concat([Uint8Array.of(4), fp]))] }),
      "valid",
      "native",
    ],
    ["SHA-512", () => ({ hash: 10 }), "valid", "native"],
    ["a swapped literal under a genuine signature", () => ({ signedData: new TextEncoder().encode("what the signer said") }), "invalid", "native"],
    ["a spoiled digest prefix (left 16 bits)", () => ({ spoilLeft16: true }), "invalid", "native"],
    ["a creation time an hour ahead", () => ({ created: now() + 3600 }), "invalid", "native"],
    ["a creation time before the key was made", () => ({ created: now() - 10 * 86_400 }), "invalid", "openpgp.js"],
    ["a critical unknown subpacket (type 40)", () => ({ hashedExtra: [subpacket(0x80 | 40, Uint8Array.of(1))] }), "invalid", "openpgp.js"],
    ["a non-critical unknown subpacket (type 40)", () => ({ hashedExtra: [subpacket(40, Uint8Array.of(1))] }), "valid", "native"],
    [
      "a signature expiration time (subpacket 3) that has passed",
      () => ({ created: now() - 60, hashedExtra: [subpacket(3, u32(1))] }),
      "invalid",
      "openpgp.js",
    ],
    ["a revocation key subpacket (12)", (fp) => ({ hashedExtra: [subpacket(12, Buffer.concat([Uint8Array.of(0x80, 22), fp]))] }), "invalid", "openpgp.js"],
    ["a critical notation openpgp.js does not know", () => ({ hashedExtra: [notation(true, "x@example.org", "1")] }), "invalid", "openpgp.js"],
    ["a non-critical notation", () => ({ hashedExtra: [notation(false, "x@example.org", "1")] }), "valid", "native"],
    ["two creation times (openpgp.js takes the last)", () => ({ hashedExtra: [subpacket(2, u32(now() - 5))] }), "valid", "openpgp.js"],
    ["an unhashed creation time in the future (ignored by openpgp.js)", () => ({ unhashed: [subpacket(2, u32(now() + 86_400))] }), "valid", "native"],
  ];
  for (const [what, spec, validity, decider] of cases) {
    it(`${what}: ${validity}, decided by ${decider}`, async () => {
      const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
      const data = new TextEncoder().encode("Subject: x\r\n\r\nwhat the mail says\r\n");
      const extra = spec(alice.privateKey.keyPacket.getFingerprintBytes()!);
      const armored = await handSigned(alice, bot, { data, created: now() - 30, ...extra });
      const decided = await nativeOnly(armored, bot, [alice.publicKey]);
      expect(decided === "openpgp.js" ? "openpgp.js" : "native").toBe(decider);
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
      expect(withNative).toEqual(openpgpJsAlone);
      expect(withNative).toMatchObject({ signer: validity === "valid" ? alice.fingerprint : undefined });
    });
  }
});

/** `inner` as the sender chose it, encrypted to `bot` (the MDC holds: the sender made it). */
async function innerAsIs(inner: Uint8Array, bot: BotIdentity): Promise<string> {
  return armorMessage(await encryptedAsIs(inner, bot));
}

describe("hostile inner packets (a sender encrypts whatever it likes to the bot: the MDC holds)", () => {
  it("compressed data with bytes after the end of the deflate stream, in ZLIB and ZIP: the same outcome both ways", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
    const inner = await handInner(alice, { data: Uint8Array.of(72, 105), created: Math.floor(Date.now() / 1000) - 30 });
    for (const [algorithm, compressed] of [
      [2, deflateSync(inner)],
      [1, deflateRawSync(inner)],
    ] as const) {
      for (const junk of [Uint8Array.of(), Buffer.from("JUNK after the stream")]) {
        const armored = await innerAsIs(newPacket(8, Buffer.concat([Uint8Array.of(algorithm), compressed, junk])), bot);
        const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
        expect(withNative, `algorithm ${algorithm}, ${junk.length} junk bytes`).toEqual(openpgpJsAlone);
      }
    }
  });

  it("300 mutations of a genuine signed stream, plain and ZLIB-compressed (flipped, dropped and inserted bytes, cut short): the same outcome both ways every time", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
    const genuine = await handInner(alice, { data: new TextEncoder().encode("Subject: x\r\n\r\nhello\r\n"), created: Math.floor(Date.now() / 1000) - 30 });
    // A fixed seed: a failure names its case, and the same case comes back on the next run.
    let seed = 0x2545f491;
    const random = (below: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % below;
    };
    let nativeDecided = 0;
    const compressedGenuine = newPacket(8, Buffer.concat([Uint8Array.of(2), deflateSync(genuine)]));
    for (let n = 0; n < 300; n++) {
      // By thirds: the packets mutated as they are, mutated then compressed, compressed then mutated.
      const way = n % 3;
      const bytes = [...(way === 2 ? compressedGenuine : genuine)];
      const at = random(bytes.length);
      const kind = n % 4;
      if (kind === 0) bytes[at]! ^= 1 << random(8);
      else if (kind === 1) bytes.splice(at, 1);
      else if (kind === 2) bytes.splice(at, 0, random(256));
      else bytes.length = at;
      const mutated = Uint8Array.from(bytes);
      const armored = await innerAsIs(way === 1 ? newPacket(8, Buffer.concat([Uint8Array.of(2), deflateSync(mutated)])) : mutated, bot);
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
      expect(withNative, `mutation ${n} (way ${way}, kind ${kind} at ${at})`).toEqual(openpgpJsAlone);
      if ((await nativeOnly(armored, bot, [alice.publicKey])) !== "openpgp.js") nativeDecided += 1;
    }
    // Some mutations only touch the text (the signature then fails) or a byte nobody reads: decided natively.
    expect(nativeDecided).toBeGreaterThan(0);
  });
});

describe("hostile keys and ciphertexts", () => {
  it("a key re-signed after the signature was made (a reformatted key): openpgp.js decides (not valid then)", async () => {
    const created = new Date(Date.now() - 2 * 86_400_000);
    const alice = await newIdentity("alice@chat.test", created);
    const bot = await newIdentity("bot@chat.test");
    const armored = await handSigned(alice, bot, { data: Uint8Array.of(65), created: Math.floor(Date.now() / 1000) - 86_400 });
    const { privateKey: reformatted } = await openpgp.reformatKey({
      privateKey: alice.privateKey,
      userIDs: [{ email: "alice@chat.test" }],
      date: new Date(Date.now() - 3_600_000),
      format: "object",
    });
    expect(await nativeOnly(armored, bot, [reformatted.toPublic()])).toBe("openpgp.js");
    const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [reformatted.toPublic()]);
    expect(withNative).toEqual(openpgpJsAlone);
    expect(withNative).toMatchObject({ signer: undefined });
    // The same signature against the original key: valid, natively.
    expect(await nativeOnly(armored, bot, [alice.publicKey])).toMatchObject({ signerFingerprint: alice.fingerprint });
  });

  it("a revoked key and a key that expires: openpgp.js decides, as before", async () => {
    const bot = await newIdentity("bot@chat.test");
    const { privateKey, revocationCertificate } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ email: "carol@chat.test" }],
      keyExpirationTime: 86_400 * 365,
      date: new Date(Date.now() - 60_000),
      format: "object",
      config: { aeadProtect: false, v6Keys: false },
    });
    const carol = await identityFromArmored(privateKey.armor(), "carol@chat.test");
    const armored = await handSigned(carol, bot, { data: Uint8Array.of(66), created: Math.floor(Date.now() / 1000) - 5 });
    const expiring = carol.publicKey;
    const { publicKey: revoked } = await openpgp.revokeKey({ key: expiring, revocationCertificate, format: "object" });
    for (const key of [expiring, revoked]) {
      expect(await nativeOnly(armored, bot, [key])).toBe("openpgp.js");
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [key]);
      expect(withNative).toEqual(openpgpJsAlone);
    }
    expect((await bothWays(armored, bot, [expiring])).withNative).toMatchObject({ signer: carol.fingerprint });
    expect((await bothWays(armored, bot, [revoked])).withNative).toMatchObject({ signer: undefined });
  });

  it("a flipped byte anywhere in the SEIPD (the MDC fails): refused by node:crypto without openpgp.js, E_PGP_DECRYPT both ways", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
    const binary = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new Uint8Array(100).fill(0x41) }),
      encryptionKeys: bot.publicKey,
      signingKeys: alice.privateKey,
      format: "binary",
      config: { aeadProtect: false },
    });
    const seipd = readPacketFrames(binary, { legacyFormat: true })!.at(-1)!;
    for (const at of [seipd.bodyStart + 1, seipd.bodyStart + 17, seipd.bodyStart + 60, seipd.end - 21, seipd.end - 1]) {
      const spoiled = Uint8Array.from(binary);
      spoiled[at]! ^= 0x01;
      const armored = armorMessage(spoiled);
      expect(await nativeOnly(armored, bot, [alice.publicKey])).toBe("refused");
      expect(await bothWays(armored, bot, [alice.publicKey])).toEqual({ withNative: { error: "E_PGP_DECRYPT" }, openpgpJsAlone: { error: "E_PGP_DECRYPT" } });
    }
  });

  it("the limit on what a compressed packet expands to: exactly the limit opens natively, one byte more is E_PGP_DECRYPT both ways", async () => {
    const bot = await newIdentity("bot@chat.test");
    const literal = newPacket(11, Buffer.concat([Uint8Array.of(0x62, 0), u32(0), new Uint8Array(200_000)]));
    const armored = armorMessage(await encryptedAsIs(newPacket(8, Buffer.concat([Uint8Array.of(2), deflateSync(literal)])), bot));
    const atCap = { maxBytes: literal.length };
    const opened = await nativeOnly(armored, bot, [], atCap);
    expect(opened).not.toBe("openpgp.js");
    expect(Buffer.from((opened as Decrypted).inner).equals(new Uint8Array(200_000))).toBe(true);
    const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [], atCap);
    // Compared as one boolean: a failing toEqual would print a diff of two 270 KB strings.
    expect("inner" in withNative && "inner" in openpgpJsAlone && withNative.inner === openpgpJsAlone.inner).toBe(true);
    expect(withNative).toMatchObject({ signer: undefined, signedAt: undefined });
    const overCap = { maxBytes: literal.length - 1 };
    expect(await nativeOnly(armored, bot, [], overCap)).toBe("openpgp.js");
    expect(await bothWays(armored, bot, [], overCap)).toEqual({ withNative: { error: "E_PGP_DECRYPT" }, openpgpJsAlone: { error: "E_PGP_DECRYPT" } });
  });

  it("a zip bomb (2 MiB of zeros, ~2 KiB compressed) against a 1 MiB limit: openpgp.js refuses it, node:crypto stops at the limit", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
    const limits = { maxBytes: 1024 * 1024 };
    for (const [size, expected] of [
      [2 * 1024 * 1024, "refused"],
      [limits.maxBytes / 2, "opens"],
    ] as const) {
      const binary = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: new Uint8Array(size) }),
        encryptionKeys: bot.publicKey,
        signingKeys: alice.privateKey,
        format: "binary",
        config: { aeadProtect: false, preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
      });
      expect(binary.length).toBeLessThan(16 * 1024);
      const armored = armorMessage(binary);
      const decided = await nativeOnly(armored, bot, [alice.publicKey], limits);
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey], limits);
      expect(withNative).toEqual(openpgpJsAlone);
      if (expected === "refused") {
        expect(decided).toBe("openpgp.js");
        expect(withNative).toEqual({ error: "E_PGP_DECRYPT" });
      } else {
        expect(decided).toMatchObject({ signerFingerprint: alice.fingerprint });
      }
    }
  });
});

describe("MESSAGE_SIGNATURES_MAX: a sender's many signatures are refused before any is hashed", () => {
  /** [one-pass]ⁿ literal [signature]ⁿ by alice over `data`: the last signature genuine, the others with a spoiled digest prefix. */
  async function manySigned(alice: BotIdentity, data: Uint8Array, n: number): Promise<Uint8Array> {
    const created = Math.floor(Date.now() / 1000) - 30;
    const packetsOf = async (spoilLeft16: boolean) => {
      const inner = await handInner(alice, { data, created, spoilLeft16 });
      const [onePass, literal, signature] = readPacketFrames(inner, { legacyFormat: true })!.map((frame) => inner.subarray(frame.start, frame.end));
      return { onePass: onePass!, literal: literal!, signature: signature! };
    };
    const [spoiled, genuine] = await Promise.all([packetsOf(true), packetsOf(false)]);
    return Buffer.concat([
      ...Array<Uint8Array>(n).fill(genuine.onePass),
      genuine.literal,
      ...Array<Uint8Array>(n - 1).fill(spoiled.signature),
      genuine.signature,
    ]);
  }

  it(`at the cap (${MESSAGE_SIGNATURES_MAX} signatures by the sender, the last genuine): read and verified, natively and by openpgp.js alike`, async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
    const data = new TextEncoder().encode("Subject: x\r\n\r\nsigned several times\r\n");
    const armored = await innerAsIs(await manySigned(alice, data, MESSAGE_SIGNATURES_MAX), bot);
    expect(await nativeOnly(armored, bot, [alice.publicKey])).toMatchObject({ signerFingerprint: alice.fingerprint });
    const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
    expect(withNative).toEqual(openpgpJsAlone);
    expect(withNative).toMatchObject({ signer: alice.fingerprint, inner: Buffer.from(data).toString("base64") });
  });

  it("one over the cap: refused by both readers (E_PGP_DECRYPT), natively without opening the rest", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
    const data = new TextEncoder().encode("Subject: x\r\n\r\nsigned too often\r\n");
    const armored = await innerAsIs(await manySigned(alice, data, MESSAGE_SIGNATURES_MAX + 1), bot);
    expect(await nativeOnly(armored, bot, [alice.publicKey])).toBe("refused");
    const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
    expect(withNative).toEqual({ error: "E_PGP_DECRYPT" });
    expect(openpgpJsAlone).toEqual({ error: "E_PGP_DECRYPT" });
  });

  it("the attack: 1 000 signatures naming the sender's key over 1 MiB, plain and ZLIB-compressed (each would hash the whole MiB): refused both ways", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test", new Date(Date.now() - 86_400_000))]);
    const inner = await manySigned(alice, Buffer.alloc(1024 * 1024, 0x61), 1000);
    for (const packets of [inner, newPacket(8, Buffer.concat([Uint8Array.of(2), deflateSync(inner)]))]) {
      const armored = await innerAsIs(packets, bot);
      expect(await nativeOnly(armored, bot, [alice.publicKey])).toBe("refused");
      const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
      expect(withNative).toEqual({ error: "E_PGP_DECRYPT" });
      expect(openpgpJsAlone).toEqual({ error: "E_PGP_DECRYPT" });
    }
  });

  it("signatures by a key the host was not given count too: over the cap is refused however they are signed", async () => {
    const [bot, alice, mallory] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test"), newIdentity("mallory@chat.test")]);
    const armored = await innerAsIs(await manySigned(mallory, new TextEncoder().encode("hi"), MESSAGE_SIGNATURES_MAX + 1), bot);
    const { withNative, openpgpJsAlone } = await bothWays(armored, bot, [alice.publicKey]);
    expect(withNative).toEqual({ error: "E_PGP_DECRYPT" });
    expect(openpgpJsAlone).toEqual({ error: "E_PGP_DECRYPT" });
  });
});
