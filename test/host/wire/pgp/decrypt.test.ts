import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { armorMessage } from "../../../../host/wire/pgp/armor.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { signAndEncrypt } from "../../../../host/wire/pgp/encrypt.js";
import { generateBotKeyArmored, identityFromArmored } from "../../../../host/wire/pgp/identity.js";
import { armoredPart, fixtureBytes, fixtureText, RUNS, runKeys } from "./deltachat-fixtures.js";
import { errorCode } from "../../../support/errors.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("decryptAndVerify: the recorded Delta Chat core 2.57.0 messages", () => {
  for (const run of RUNS) {
    it(`${run}: Bob decrypts Alice's chat text 05 to exactly 05.decrypted.eml, signed by Alice`, async () => {
      const { A, B } = await runKeys(run);
      const armored = armoredPart(await fixtureText(`${run}/05.eml`));
      const result = await decryptAndVerify(armored, B.identity, [A.publicKey], LIMITS);
      expect(Buffer.from(result.inner).equals(await fixtureBytes(`${run}/05.decrypted.eml`))).toBe(true);
      expect(result.signerFingerprint).toBe(A.fingerprint);
    });

    it(`${run}: the signature's creation time is core's send time — within a minute of the protected Date, while the outer Date is set days earlier by core`, async () => {
      const { A, B } = await runKeys(run);
      const outerText = await fixtureText(`${run}/05.eml`);
      const result = await decryptAndVerify(armoredPart(outerText), B.identity, [A.publicKey], LIMITS);
      const dateOf = (mime: string) => Date.parse(/^Date: (.*)$/m.exec(mime)![1]!);
      const innerDate = dateOf(text(result.inner));
      expect(result.signedAt).toBeDefined();
      expect(Math.abs(result.signedAt! - innerDate)).toBeLessThan(60_000);
      expect(innerDate - dateOf(outerText)).toBeGreaterThan(60 * 60_000);
    });

    it(`${run}: Alice decrypts Bob's reply 06, signed by Bob`, async () => {
      const { A, B } = await runKeys(run);
      const result = await decryptAndVerify(armoredPart(await fixtureText(`${run}/06.eml`)), A.identity, [B.publicKey], LIMITS);
      expect(Buffer.from(result.inner).equals(await fixtureBytes(`${run}/06.decrypted.eml`))).toBe(true);
      expect(result.signerFingerprint).toBe(B.fingerprint);
    });

    it(`${run}: vc-request-with-auth (03) opens for Bob signed by Alice, vc-contact-confirm (04) for Alice signed by Bob`, async () => {
      const { A, B } = await runKeys(run);
      const request = await decryptAndVerify(armoredPart(await fixtureText(`${run}/03.eml`)), B.identity, [A.publicKey], LIMITS);
      expect(Buffer.from(request.inner).equals(await fixtureBytes(`${run}/03.decrypted.eml`))).toBe(true);
      expect(text(request.inner)).toContain("Secure-Join: vc-request-with-auth");
      expect(request.signerFingerprint).toBe(A.fingerprint);
      const confirm = await decryptAndVerify(armoredPart(await fixtureText(`${run}/04.eml`)), A.identity, [B.publicKey], LIMITS);
      expect(Buffer.from(confirm.inner).equals(await fixtureBytes(`${run}/04.decrypted.eml`))).toBe(true);
      expect(text(confirm.inner)).toContain("Secure-Join: vc-contact-confirm");
      expect(confirm.signerFingerprint).toBe(B.fingerprint);
    });
  }

  it("the signer is undefined when Alice's key is not among the verification keys", async () => {
    const { B } = await runKeys("plain");
    const armored = armoredPart(await fixtureText("plain/05.eml"));
    const result = await decryptAndVerify(armored, B.identity, [], LIMITS);
    expect(text(result.inner)).toContain("hello from A");
    expect(result.signerFingerprint).toBeUndefined();
    expect(result.signedAt).toBeUndefined();
  });

  it("the signer is undefined when only a different key is given (Alice's key from another run)", async () => {
    const { B } = await runKeys("plain");
    const other = await runKeys("tls");
    const result = await decryptAndVerify(armoredPart(await fixtureText("plain/05.eml")), B.identity, [other.A.publicKey, B.publicKey], LIMITS);
    expect(result.signerFingerprint).toBeUndefined();
  });
});

describe("decryptAndVerify: refusals", () => {
  it("a key the message was not encrypted to fails with E_PGP_DECRYPT", async () => {
    const stranger = await identityFromArmored(await generateBotKeyArmored("stranger@chat.test"), "stranger@chat.test");
    expect(await errorCode(decryptAndVerify(armoredPart(await fixtureText("plain/05.eml")), stranger, [], LIMITS))).toBe("E_PGP_DECRYPT");
  });

  it("a symmetric-only SecureJoin message (SKESK + SEIPD) fails with E_PGP_DECRYPT, not a crash", async () => {
    const { B } = await runKeys("plain");
    expect(await errorCode(decryptAndVerify(armoredPart(await fixtureText("plain/01.eml")), B.identity, [], LIMITS))).toBe("E_PGP_DECRYPT");
  });

  it("an unencrypted signed literal message is refused as E_PGP_MALFORMED before decryption", async () => {
    const { A, B } = await runKeys("plain");
    const signed = await openpgp.sign({
      message: await openpgp.createMessage({ text: "not encrypted" }),
      signingKeys: await openpgp.readPrivateKey({ armoredKey: A.privateArmored }),
      format: "binary",
    });
    expect(await errorCode(decryptAndVerify(armorMessage(signed), B.identity, [A.publicKey], LIMITS))).toBe("E_PGP_MALFORMED");
  });

  it("a message with a literal data packet after the SEIPD is refused as E_PGP_MALFORMED", async () => {
    const { A, B } = await runKeys("plain");
    const binary = await openpgp.unarmor(armoredPart(await fixtureText("plain/05.eml")));
    const literal = (await openpgp.createMessage({ binary: new Uint8Array([1, 2, 3]) })).write();
    const tampered = new Uint8Array(Buffer.concat([binary.data as Uint8Array, literal]));
    expect(await errorCode(decryptAndVerify(armorMessage(tampered), B.identity, [A.publicKey], LIMITS))).toBe("E_PGP_MALFORMED");
  });

  it("text that is not armor is refused as E_PGP_MALFORMED", async () => {
    const { B } = await runKeys("plain");
    expect(await errorCode(decryptAndVerify("hello", B.identity, [], LIMITS))).toBe("E_PGP_MALFORMED");
  });

  it("a signature by a signing SUBKEY does not count: core checks the primary key only", async () => {
    const { privateKey } = await openpgp.generateKey({
      userIDs: [{ email: "subkey@chat.test" }],
      subkeys: [{}, { sign: true }],
      format: "object",
    });
    const signingSubkey = privateKey.getSubkeys()[1]!;
    const { B } = await runKeys("plain");
    const binary = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new TextEncoder().encode("signed by a subkey\r\n") }),
      encryptionKeys: B.publicKey,
      signingKeys: privateKey,
      signingKeyIDs: signingSubkey.getKeyID(),
      format: "binary",
    });
    const withSubkey = await decryptAndVerify(armorMessage(binary), B.identity, [privateKey.toPublic()], LIMITS);
    expect(text(withSubkey.inner)).toBe("signed by a subkey\r\n");
    expect(withSubkey.signerFingerprint).toBeUndefined();
  });
});

describe("decryptAndVerify: the size limit", () => {
  it("input of exactly maxBytes is processed", async () => {
    const { A, B } = await runKeys("plain");
    const armored = armoredPart(await fixtureText("plain/05.eml"));
    const result = await decryptAndVerify(armored, B.identity, [A.publicKey], { maxBytes: Buffer.byteLength(armored) });
    expect(result.signerFingerprint).toBe(A.fingerprint);
  });

  it("one byte more is refused with E_MAIL_TOO_LARGE before parsing (garbage at the cap is parsed and refused as malformed)", async () => {
    const { B } = await runKeys("plain");
    const garbage = "x".repeat(1000);
    expect(await errorCode(decryptAndVerify(garbage, B.identity, [], { maxBytes: 1000 }))).toBe("E_PGP_MALFORMED");
    expect(await errorCode(decryptAndVerify(garbage, B.identity, [], { maxBytes: 999 }))).toBe("E_MAIL_TOO_LARGE");
  });

  it("a valid message one byte over the cap is refused with E_MAIL_TOO_LARGE", async () => {
    const { A, B } = await runKeys("plain");
    const armored = armoredPart(await fixtureText("plain/05.eml"));
    const code = await errorCode(decryptAndVerify(armored, B.identity, [A.publicKey], { maxBytes: Buffer.byteLength(armored) - 1 }));
    expect(code).toBe("E_MAIL_TOO_LARGE");
  });
});

describe("round trip: signAndEncrypt → decryptAndVerify", () => {
  it("a bot's message opens for the recipient and for the bot itself, signed by the bot's primary key", async () => {
    const bot = await identityFromArmored(await generateBotKeyArmored("bot@chat.test"), "bot@chat.test");
    const { A } = await runKeys("plain");
    const inner = 'Content-Type: text/plain; charset="utf-8"\r\n\r\nhallo Ä\r\n';
    const armored = await signAndEncrypt(inner, [A.publicKey], bot);
    const forAlice = await decryptAndVerify(armored, A.identity, [bot.publicKey], LIMITS);
    expect(text(forAlice.inner)).toBe(inner);
    expect(forAlice.signerFingerprint).toBe(bot.fingerprint);
    const forBot = await decryptAndVerify(armored, bot, [bot.publicKey], LIMITS);
    expect(text(forBot.inner)).toBe(inner);
  });

  it("the message is one pass: PKESK per key (recipient + bot, the bot once) then one SEIPDv1, since the bot key has no SEIPDv2 feature", async () => {
    const bot = await identityFromArmored(await generateBotKeyArmored("bot@chat.test"), "bot@chat.test");
    const { A } = await runKeys("plain");
    const armored = await signAndEncrypt("x\r\n", [A.publicKey, bot.publicKey], bot);
    const message = await openpgp.readMessage({ armoredMessage: armored });
    const tags = message.packets.map((packet) => (packet.constructor as unknown as { tag: number }).tag);
    expect(tags).toEqual([1, 1, 18]);
    expect((message.packets[2] as openpgp.SymEncryptedIntegrityProtectedDataPacket & { version: number }).version).toBe(1);
    const expected = await Promise.all([A.publicKey.getEncryptionKey(), bot.publicKey.getEncryptionKey()]);
    expect(
      message
        .getEncryptionKeyIDs()
        .map((id) => id.toHex())
        .sort(),
    ).toEqual(expected.map((key) => key.getKeyID().toHex()).sort());
  });
});
