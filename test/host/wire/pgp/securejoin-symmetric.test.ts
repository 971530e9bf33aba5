import { randomBytes } from "node:crypto";
import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { armorMessage } from "../../../../host/wire/pgp/armor.js";
import { generateBotKeyArmored, identityFromArmored } from "../../../../host/wire/pgp/identity.js";
import { decryptSymmetric, encryptSymmetricSigned, secureJoinPassword } from "../../../../host/wire/pgp/securejoin-symmetric.js";
import { readPacketFrames } from "../../../../host/wire/pgp/packets.js";
import { armoredPart, fixtureBytes, fixtureText, runKeys, V3_RUNS } from "./deltachat-fixtures.js";
import { errorCode } from "../../../support/errors.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };

/** A password list that counts every read of it: zero reads proves no password was tried. */
function watchedPasswords(list: string[]): { passwords: readonly string[]; reads: () => number } {
  let reads = 0;
  const passwords = new Proxy(list, {
    get(target, property, receiver) {
      reads++;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { passwords, reads: () => reads };
}

/** A hand-built v4 SKESK with Salted S2K (SHA-256, AES-128): 14 bytes. */
const saltedSkesk = () => Buffer.concat([Buffer.from([0xc3, 0x0c, 0x04, 0x07, 0x01, 0x08]), randomBytes(8)]);

async function passwordMessage(config: openpgp.PartialConfig): Promise<Uint8Array> {
  return openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new TextEncoder().encode("x") }),
    passwords: "secret",
    format: "binary",
    config,
  });
}

describe("secureJoinPassword", () => {
  it('is "securejoin/<FPR UPPERCASE>/<auth>" even from a lowercase fingerprint', () => {
    expect(secureJoinPassword("b3916fd83038ef38aa1f6cdbab0b0f8a8bd6c411", "GF4a")).toBe("securejoin/B3916FD83038EF38AA1F6CDBAB0B0F8A8BD6C411/GF4a");
  });

  it("refuses something that is not a 40-digit fingerprint", () => {
    expect(() => secureJoinPassword("B3916FD8", "x")).toThrow(/fingerprint/);
  });
});

describe("decryptSymmetric: the recorded SecureJoin v3 messages", () => {
  for (const run of V3_RUNS) {
    it(`${run}: opens the vc-request-pubkey (01, SKESKv6 Salted S2K + SEIPDv2) with the QR's password`, async () => {
      const { securejoin } = await runKeys(run);
      const password = secureJoinPassword(securejoin.inviterFingerprint, securejoin.auth);
      const result = await decryptSymmetric(armoredPart(await fixtureText(`${run}/01.eml`)), ["wrong-1", password], LIMITS);
      expect(result?.password).toBe(password);
      expect(Buffer.from(result!.inner).equals(await fixtureBytes(`${run}/01.decrypted.eml`))).toBe(true);
      expect(Buffer.from(result!.inner).toString()).toContain("Secure-Join: vc-request-pubkey");
    });
  }

  it("opens core's own vc-pubkey (02) too, and its signature is Bob's", async () => {
    const { B, securejoin } = await runKeys("plain");
    const password = secureJoinPassword(securejoin.inviterFingerprint, securejoin.auth);
    const armored = armoredPart(await fixtureText("plain/02.eml"));
    const result = await decryptSymmetric(armored, [password], LIMITS);
    expect(Buffer.from(result!.inner).equals(await fixtureBytes("plain/02.decrypted.eml"))).toBe(true);
    const check = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: armored }),
      passwords: password,
      verificationKeys: B.publicKey,
      format: "binary",
    });
    expect(await check.signatures[0]?.verified).toBe(true);
  });

  it("returns undefined for a wrong password", async () => {
    const { securejoin } = await runKeys("plain");
    const armored = armoredPart(await fixtureText("plain/01.eml"));
    expect(await decryptSymmetric(armored, [secureJoinPassword(securejoin.inviterFingerprint, "not-the-auth")], LIMITS)).toBeUndefined();
    expect(await decryptSymmetric(armored, [], LIMITS)).toBeUndefined();
  });

  it("returns undefined for the password with a lowercase fingerprint (core never uses it)", async () => {
    const { securejoin } = await runKeys("plain");
    const lowercase = `securejoin/${securejoin.inviterFingerprint.toLowerCase()}/${securejoin.auth}`;
    expect(await decryptSymmetric(armoredPart(await fixtureText("plain/01.eml")), [lowercase], LIMITS)).toBeUndefined();
  });
});

describe("decryptSymmetric: an attacker cannot make it derive expensive keys", () => {
  it("refuses two SKESKs (even salted ones) without reading a single password", async () => {
    const single = Buffer.from((await openpgp.unarmor(armoredPart(await fixtureText("plain/01.eml")))).data as Uint8Array);
    const doubled = new Uint8Array(Buffer.concat([saltedSkesk(), single]));
    const watched = watchedPasswords(["a", "b"]);
    expect(await errorCode(decryptSymmetric(armorMessage(doubled), watched.passwords, LIMITS))).toBe("E_PGP_MALFORMED");
    expect(watched.reads()).toBe(0);
  });

  it("refuses an iterated-S2K SKESK made by openpgp.encrypt({ passwords }) without reading a password", async () => {
    const binary = await passwordMessage({ s2kType: openpgp.enums.s2k.iterated, s2kIterationCountByte: 255 });
    expect(binary[0]).toBe(0xc3);
    const watched = watchedPasswords(["secret"]);
    expect(await errorCode(decryptSymmetric(armorMessage(binary), watched.passwords, LIMITS))).toBe("E_PGP_MALFORMED");
    expect(watched.reads()).toBe(0);
  });

  it("refuses an argon2 SKESK asking for 2 GiB per try, without reading a password and without running argon2", async () => {
    const binary = await passwordMessage({
      s2kType: openpgp.enums.s2k.argon2,
      s2kArgon2Params: { passes: 1, parallelism: 1, memoryExponent: 10 },
      aeadProtect: true,
    });
    // Raise the memory exponent in the S2K specifier (type 4: salt16, passes, parallelism, m) to 21
    // (2^21 KiB = 2 GiB): running the derivation would now take seconds and gigabytes, or fail.
    const s2kStart = binary.indexOf(4, 5);
    expect(binary[s2kStart + 19]).toBe(10);
    binary[s2kStart + 19] = 21;
    const watched = watchedPasswords(["secret"]);
    expect(await errorCode(decryptSymmetric(armorMessage(binary), watched.passwords, LIMITS))).toBe("E_PGP_MALFORMED");
    // No password was read, so no derivation ran: refused from the packet's parameters alone.
    expect(watched.reads()).toBe(0);
  });

  it("refuses a public-key message (no SKESK) without reading a password", async () => {
    const watched = watchedPasswords(["secret"]);
    const code = await errorCode(decryptSymmetric(armoredPart(await fixtureText("plain/05.eml")), watched.passwords, LIMITS));
    expect(code).toBe("E_PGP_MALFORMED");
    expect(watched.reads()).toBe(0);
  });
});

describe("decryptSymmetric: the size limit", () => {
  it("input of exactly maxBytes is processed, one byte more is refused before parsing or reading a password", async () => {
    const { securejoin } = await runKeys("plain");
    const password = secureJoinPassword(securejoin.inviterFingerprint, securejoin.auth);
    const armored = armoredPart(await fixtureText("plain/01.eml"));
    const size = Buffer.byteLength(armored);
    expect((await decryptSymmetric(armored, [password], { maxBytes: size }))?.password).toBe(password);
    const watched = watchedPasswords([password]);
    expect(await errorCode(decryptSymmetric(armored, watched.passwords, { maxBytes: size - 1 }))).toBe("E_MAIL_TOO_LARGE");
    expect(watched.reads()).toBe(0);
  });
});

describe("round trip: encryptSymmetricSigned → decryptSymmetric (PROTOCOL §4 construction (b))", () => {
  it("opens with the password, the signature verifies with the bot's primary key, and the SKESK is C3 0C 04 07 01 08 <salt8>", async () => {
    const bot = await identityFromArmored(await generateBotKeyArmored("bot@chat.test"), "bot@chat.test");
    const password = secureJoinPassword(bot.fingerprint, "AUTHtoken_0123456789");
    const inner = "Secure-Join: vc-pubkey\r\nAuto-Submitted: auto-generated\r\n\r\nSecure-Join\r\n";
    const armored = await encryptSymmetricSigned(inner, password, bot);

    const result = await decryptSymmetric(armored, ["wrong", password], LIMITS);
    expect(result?.password).toBe(password);
    expect(Buffer.from(result!.inner).toString()).toBe(inner);

    const verified = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: armored }),
      passwords: password,
      verificationKeys: bot.publicKey,
      expectSigned: true,
      format: "binary",
    });
    expect(verified.signatures).toHaveLength(1);
    expect(verified.signatures[0]!.keyID.equals(bot.privateKey.getKeyID())).toBe(true);

    const binary = (await openpgp.unarmor(armored)).data as Uint8Array;
    expect(Buffer.from(binary.subarray(0, 6)).toString("hex")).toBe("c30c04070108");
    const frames = readPacketFrames(binary, { legacyFormat: false })!;
    expect(frames.map((frame) => frame.tag)).toEqual([3, 18]);
    expect(frames[0]!.end).toBe(14);
    expect(binary[frames[1]!.bodyStart]).toBe(1); // SEIPD version 1
  });

  it("uses a fresh salt each time", async () => {
    const bot = await identityFromArmored(await generateBotKeyArmored("bot@chat.test"), "bot@chat.test");
    const salts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const binary = (await openpgp.unarmor(await encryptSymmetricSigned("x", "pw", bot))).data as Uint8Array;
      salts.add(Buffer.from(binary.subarray(6, 14)).toString("hex"));
    }
    expect(salts.size).toBe(3);
  });
});
