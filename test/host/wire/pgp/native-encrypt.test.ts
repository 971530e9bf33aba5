// Sign and encrypt with node:crypto (native-encrypt.ts): what it writes is read by openpgp.js, by
// the host's own decrypt, and by the private keys of real Delta Chat cores (the recorded runs of
// core 2.57 and 1.160); it is the message openpgp.js writes for the same keys, packet for packet;
// and a key of any other kind leaves the message to openpgp.js.
import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { armorMessage } from "../../../../host/wire/pgp/armor.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { signAndEncrypt } from "../../../../host/wire/pgp/encrypt.js";
import type { BotIdentity } from "../../../../host/wire/pgp/identity.js";
import { nativeSignAndEncrypt } from "../../../../host/wire/pgp/native-encrypt.js";
import { newIdentity, p256Identity } from "../../../support/user-mail.js";
import { errorCode } from "../../../support/errors.js";
import { CORE_1160_RUN, runKeys } from "./deltachat-fixtures.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };
const bytes = (text: string) => new TextEncoder().encode(text);

/** openpgp.js's decrypt of `binary` with `reader`'s private key, the signature checked against the bot. */
async function openedBy(binary: Uint8Array, reader: openpgp.PrivateKey, bot: BotIdentity): Promise<{ text: string; sessionAlgorithm: string }> {
  const [sessionKey] = await openpgp.decryptSessionKeys({ message: await openpgp.readMessage({ binaryMessage: binary }), decryptionKeys: reader });
  const result = await openpgp.decrypt({
    message: await openpgp.readMessage({ binaryMessage: binary }),
    decryptionKeys: reader,
    verificationKeys: bot.publicKey,
    expectSigned: true,
    format: "binary",
  });
  return { text: Buffer.from(result.data).toString("utf8"), sessionAlgorithm: String(sessionKey!.algorithm) };
}

/** Count the calls of `methods` on this one key object (its own property wraps the prototype's method). */
function countCalls(key: openpgp.PublicKey, methods: ReadonlyArray<"getEncryptionKey" | "getPrimaryUser">): { count: number } {
  const counter = { count: 0 };
  for (const method of methods) {
    const original = key[method].bind(key) as (...args: unknown[]) => unknown;
    Object.defineProperty(key, method, {
      value: (...args: unknown[]) => {
        counter.count += 1;
        return original(...args);
      },
    });
  }
  return counter;
}

/** The packets of `binary` as openpgp.js reads them, outside and inside the SEIPD, with the fields both writers set. */
async function shape(binary: Uint8Array, reader: openpgp.PrivateKey): Promise<unknown> {
  const outer = await openpgp.readMessage({ binaryMessage: binary });
  const decrypted = await outer.decrypt([reader]);
  // The trailing signature packet comes with the decrypt's result (the literal data is read lazily).
  const { signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: binary }), decryptionKeys: reader, format: "binary" });
  const signature = (await signatures[0]!.signature).packets[0]!;
  const inner = [...decrypted.packets, signature].map((packet) => {
    const p = packet as unknown as Record<string, unknown>;
    if (packet instanceof openpgp.SignaturePacket) {
      // The hashed part as written (signatureData: version, type, algorithms, length, subpackets):
      // the subpackets' type bytes in order, critical bit (0x80) included.
      const hashed = Buffer.from(p.signatureData as Uint8Array);
      const types: number[] = [];
      for (let at = 6; at < hashed.length; at += hashed[at]! + 1) types.push(hashed[at + 1]!);
      return { tag: "signature", version: p.version, type: p.signatureType, hash: p.hashAlgorithm, algorithm: p.publicKeyAlgorithm, subpackets: types };
    }
    if (packet instanceof openpgp.OnePassSignaturePacket) {
      return { tag: "one-pass", version: p.version, type: p.signatureType, hash: p.hashAlgorithm, algorithm: p.publicKeyAlgorithm, flags: p.flags };
    }
    if (packet instanceof openpgp.LiteralDataPacket) return { tag: "literal", format: p.format, filename: p.filename };
    throw new Error(`unexpected packet inside: ${packet.constructor.name}`);
  });
  const outerShape = outer.packets.map((packet) => {
    const p = packet as unknown as Record<string, unknown>;
    return { tag: packet.constructor.name, version: p.version, algorithm: p.publicKeyAlgorithm };
  });
  return { outer: outerShape, inner };
}

describe("nativeSignAndEncrypt", () => {
  for (const run of ["plain", CORE_1160_RUN]) {
    it(`a reply to a real core's key (recorded run ${run}): the core's private key opens it, the bot's signature verifies, the host's own decrypt reads it`, async () => {
      const { A } = await runKeys(run);
      const bot = await newIdentity("bot@chat.test");
      const binary = await nativeSignAndEncrypt(bytes("Content-Type: text/plain\r\n\r\nhi core\r\n"), [A.publicKey, bot.publicKey], bot);
      expect(binary).not.toBeNull();
      const core = await openpgp.readPrivateKey({ armoredKey: A.privateArmored });
      expect((await openedBy(binary!, core, bot)).text).toBe("Content-Type: text/plain\r\n\r\nhi core\r\n");
      const read = await decryptAndVerify(armorMessage(binary!), A.identity, [bot.publicKey], LIMITS);
      expect(Buffer.from(read.inner).toString("utf8")).toBe("Content-Type: text/plain\r\n\r\nhi core\r\n");
      expect(read.signerFingerprint).toBe(bot.fingerprint);
      // The bot reads its own copy too.
      expect((await openedBy(binary!, bot.privateKey, bot)).text).toContain("hi core");
    });
  }

  // 0 bytes, one-octet (< 192), two-octet (< 8 384) and five-octet packet lengths.
  for (const size of [0, 100, 5_000, 300_000]) {
    it(`${size} bytes of data round-trip, and the message has openpgp.js's shape for the same keys`, async () => {
      const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
      const data = "x".repeat(size);
      const native = await nativeSignAndEncrypt(bytes(data), [alice.publicKey, bot.publicKey], bot);
      const reference = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: bytes(data) }),
        encryptionKeys: [alice.publicKey, bot.publicKey],
        signingKeys: bot.privateKey,
        format: "binary",
        config: { aeadProtect: false },
      });
      const opened = await openedBy(native!, alice.privateKey, bot);
      expect(opened.text).toBe(data);
      expect(opened.sessionAlgorithm).toBe((await openedBy(reference, alice.privateKey, bot)).sessionAlgorithm);
      const written = await shape(native!, alice.privateKey);
      expect(written).toEqual(await shape(reference, alice.privateKey));
      expect(JSON.stringify(written)).toContain('"subpackets":[130,16,20,33]');
    });
  }

  it("each message has its own session key, ephemeral keys and signature salt", async () => {
    const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
    const one = await nativeSignAndEncrypt(bytes("same"), [alice.publicKey], bot, new Date(1_800_000_000_000));
    const two = await nativeSignAndEncrypt(bytes("same"), [alice.publicKey], bot, new Date(1_800_000_000_000));
    expect(Buffer.from(one!).equals(Buffer.from(two!))).toBe(false);
    const keyOf = async (binary: Uint8Array) =>
      Buffer.from(
        (await openpgp.decryptSessionKeys({ message: await openpgp.readMessage({ binaryMessage: binary }), decryptionKeys: alice.privateKey }))[0]!.data,
      ).toString("hex");
    expect(await keyOf(one!)).not.toBe(await keyOf(two!));
  });

  it("keys of other kinds are left to openpgp.js (null), and signAndEncrypt still writes a message they open", async () => {
    const bot = await newIdentity("bot@chat.test");
    const { privateKey: v6 } = await openpgp.generateKey({
      type: "curve25519",
      userIDs: [{ email: "v6@chat.test" }],
      format: "object",
      config: { v6Keys: true },
    });
    const { privateKey: p256 } = await openpgp.generateKey({ type: "ecc", curve: "nistP256", userIDs: [{ email: "p256@chat.test" }], format: "object" });
    for (const other of [v6, p256]) {
      expect(await nativeSignAndEncrypt(bytes("x"), [other.toPublic(), bot.publicKey], bot)).toBeNull();
      const armored = await signAndEncrypt("Content-Type: text/plain\r\n\r\nvia openpgp.js\r\n", [other.toPublic()], bot);
      const message = await openpgp.readMessage({ armoredMessage: armored });
      const result = await openpgp.decrypt({ message, decryptionKeys: other, verificationKeys: bot.publicKey, expectSigned: true, format: "binary" });
      expect(Buffer.from(result.data).toString("utf8")).toContain("via openpgp.js");
    }
    // A bot whose own key is not Ed25519Legacy: openpgp.js signs.
    const bot2 = await p256Identity("bot2@chat.test");
    expect(await nativeSignAndEncrypt(bytes("x"), [bot.publicKey, bot2.publicKey], bot2)).toBeNull();
  });

  it("an expired recipient key is left to openpgp.js, which refuses it: E_PGP_ENCRYPT", async () => {
    const bot = await newIdentity("bot@chat.test");
    const { publicKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ email: "old@chat.test" }],
      date: new Date(Date.now() - 10 * 24 * 3600_000),
      keyExpirationTime: 24 * 3600,
      format: "object",
      config: { v6Keys: false },
    });
    expect(await nativeSignAndEncrypt(bytes("x"), [publicKey, bot.publicKey], bot)).toBeNull();
    expect(await errorCode(signAndEncrypt("x", [publicKey], bot))).toBe("E_PGP_ENCRYPT");
  });

  it("a key's check is reused while it stands, never past the key's expiry, and is redone after a minute", async () => {
    const bot = await newIdentity("bot@chat.test");
    const created = new Date(1_800_000_000_000);
    const { publicKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ email: "soon@chat.test" }],
      date: created,
      keyExpirationTime: 30,
      format: "object",
      config: { v6Keys: false },
    });
    const at = (seconds: number) => new Date(created.getTime() + seconds * 1000);
    // Checked at +10 s (openpgp.js's verifications counted): valid, and the same key again at +20 s is not verified again.
    const verified = countCalls(publicKey, ["getEncryptionKey", "getPrimaryUser"]);
    expect(await nativeSignAndEncrypt(bytes("one"), [publicKey, bot.publicKey], bot, at(10))).not.toBeNull();
    const afterFirst = verified.count;
    expect(afterFirst).toBeGreaterThan(0);
    expect(await nativeSignAndEncrypt(bytes("two"), [publicKey, bot.publicKey], bot, at(20))).not.toBeNull();
    expect(verified.count).toBe(afterFirst);
    // At +31 s the key has expired: the check made at +10 s does not stand any more.
    expect(await nativeSignAndEncrypt(bytes("three"), [publicKey, bot.publicKey], bot, at(31))).toBeNull();
    expect(verified.count).toBeGreaterThan(afterFirst);
    // A key without expiry: checked again once a minute has passed, not before.
    const { publicKey: lasting } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ email: "lasting@chat.test" }],
      date: created,
      format: "object",
      config: { v6Keys: false },
    });
    const lastingChecks = countCalls(lasting, ["getEncryptionKey"]);
    for (const seconds of [1, 30, 60]) await nativeSignAndEncrypt(bytes("x"), [lasting, bot.publicKey], bot, at(seconds));
    expect(lastingChecks.count).toBe(1);
    await nativeSignAndEncrypt(bytes("x"), [lasting, bot.publicKey], bot, at(61.5));
    expect(lastingChecks.count).toBe(2);
    // A clock that went back is not inside the check either.
    await nativeSignAndEncrypt(bytes("x"), [lasting, bot.publicKey], bot, at(30));
    expect(lastingChecks.count).toBe(3);
  });
});
