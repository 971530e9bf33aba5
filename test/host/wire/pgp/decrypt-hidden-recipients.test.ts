// Real cores hide their recipients: every PKESK names the wildcard key ID, so the bot's key must be
// tried on them. A bot key of the kind the host makes (Curve25519Legacy) opens them with node:crypto
// (native-session-key.ts, ~0.1 ms a PKESK), and openpgp.js's own PKESK decryption is not called;
// a forged PKESK (one to the bot's key with another session key) is tried on the SEIPD too, up to
// OPENED_SESSION_KEYS_MAX distinct keys, and a mail with more is refused: each would cost a pass
// over the whole message (the DoS this limit closes). For a bot key of another kind, openpgp.js tries one PKESK at a time, last first
// (core 2.57 writes the sender's own first), and stops at the first that opens the message.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { armorMessage } from "../../../../host/wire/pgp/armor.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { ONE_PKESK_AT_A_TIME_MAX_BYTES, OPENED_SESSION_KEYS_MAX, SESSION_KEY_PACKETS_MAX } from "../../../../core/limits.js";
import { identityFromArmored, type BotIdentity } from "../../../../host/wire/pgp/identity.js";
import { readPacketFrames } from "../../../../host/wire/pgp/packets.js";
import { REAL_CORE_MAIL_DIR } from "../../../bench/real-core-fixtures.js";
import { newIdentity, p256Identity } from "../../../support/user-mail.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };

/** Counts the PKESKs a private key is tried on (openpgp.js's one decrypt per PKESK and key). */
function countPkeskTries(): { count: () => number } {
  // decrypt is openpgp.js's, not in its typings.
  const prototype = openpgp.PublicKeyEncryptedSessionKeyPacket.prototype as unknown as { decrypt: (...args: unknown[]) => Promise<void> };
  const spy = vi.spyOn(prototype, "decrypt");
  return { count: () => spy.mock.calls.length };
}

/** A message signed by `signer`, encrypted to `keys` in this order with hidden recipients (wildcard key IDs), as binary. */
async function hiddenRecipients(text: string, keys: openpgp.PublicKey[], signer: BotIdentity): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode(text) });
  return openpgp.encrypt({ message, encryptionKeys: keys, signingKeys: signer.privateKey, wildcard: true, format: "binary", config: { aeadProtect: false } });
}

/** `count` forged PKESKs (to the bot's key, each with its own random session key) in front of `binary`'s own. */
async function withForged(binary: Uint8Array, bot: BotIdentity, count: number, where: "first" | "last"): Promise<string> {
  const forged: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    forged.push(
      await openpgp.encryptSessionKey({
        data: new Uint8Array(randomBytes(32)),
        algorithm: "aes256",
        encryptionKeys: bot.publicKey,
        wildcard: true,
        format: "binary",
      }),
    );
  }
  const seipd = readPacketFrames(binary, { legacyFormat: true })!.at(-1)!;
  const pkesks = binary.subarray(0, seipd.start);
  return armorMessage(Buffer.concat(where === "first" ? [...forged, pkesks, binary.subarray(seipd.start)] : [pkesks, ...forged, binary.subarray(seipd.start)]));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("decryptAndVerify with hidden recipients", () => {
  it("a recorded core 2.57 text (2 wildcard PKESKs, the bot's last) opens with node:crypto: no PKESK goes to openpgp.js", async () => {
    const index = JSON.parse(await readFile(join(REAL_CORE_MAIL_DIR, "index.json"), "utf8")) as { botAddr: string };
    const bot = await identityFromArmored(await readFile(join(REAL_CORE_MAIL_DIR, "account", "key.asc"), "utf8"), index.botAddr);
    const raw = new Uint8Array(await readFile(join(REAL_CORE_MAIL_DIR, "mails", "03-text.eml")));
    const armored = parseOuter(raw, LIMITS).encrypted!.armored;
    const tries = countPkeskTries();
    const decrypted = await decryptAndVerify(armored, bot, [], LIMITS);
    expect(Buffer.from(decrypted.inner).toString("utf8")).toContain("hello bot 1");
    expect(tries.count()).toBe(0);
  });

  for (const position of [0, 1, 2]) {
    it(`the bot's PKESK at position ${position} of three opens with node:crypto, signature checked`, async () => {
      const [bot, alice, bob] = await Promise.all(["bot@chat.test", "alice@chat.test", "bob@chat.test"].map((addr) => newIdentity(addr)));
      const keys = [alice!.publicKey, bob!.publicKey];
      keys.splice(position, 0, bot!.publicKey);
      const binary = await hiddenRecipients("to the bot\r\n", keys, alice!);
      const tries = countPkeskTries();
      const decrypted = await decryptAndVerify(armorMessage(binary), bot!, [alice!.publicKey], LIMITS);
      expect(Buffer.from(decrypted.inner).toString("utf8")).toBe("to the bot\r\n");
      expect(decrypted.signerFingerprint).toBe(alice!.fingerprint);
      expect(tries.count()).toBe(0);
    });
  }

  const openpgpCases = [
    { what: "the bot's PKESK last opens with one try", bot: "last", others: 1, tries: 1 },
    { what: "the bot's PKESK first (of three) still opens, after a try of each other one", bot: "first", others: 2, tries: 3 },
  ] as const;
  for (const { what, bot: position, others, tries: expectedTries } of openpgpCases) {
    it(`openpgp.js, for a bot key of another kind: ${what}`, async () => {
      const [bot, alice, bob] = await Promise.all([p256Identity("bot@chat.test"), newIdentity("alice@chat.test"), newIdentity("bob@chat.test")]);
      const otherKeys = [alice.publicKey, bob.publicKey].slice(0, others);
      const keys = position === "first" ? [bot.publicKey, ...otherKeys] : [...otherKeys, bot.publicKey];
      const binary = await hiddenRecipients("to the bot\r\n", keys, alice);
      const tries = countPkeskTries();
      const decrypted = await decryptAndVerify(armorMessage(binary), bot, [alice.publicKey], LIMITS);
      expect(Buffer.from(decrypted.inner).toString("utf8")).toBe("to the bot\r\n");
      expect(decrypted.signerFingerprint).toBe(alice.fingerprint);
      expect(tries.count()).toBe(expectedTries);
    });
  }

  for (const where of ["first", "last"] as const) {
    it(`one forged PKESK to the bot's key, placed ${where}: node:crypto tries both session keys (OPENED_SESSION_KEYS_MAX = ${OPENED_SESSION_KEYS_MAX}), the genuine one opens the SEIPD; openpgp.js tries no PKESK`, async () => {
      const [bot, alice] = await Promise.all(["bot@chat.test", "alice@chat.test"].map((addr) => newIdentity(addr)));
      const binary = await hiddenRecipients("genuine\r\n", [alice!.publicKey, bot!.publicKey], alice!);
      const tries = countPkeskTries();
      const decrypted = await decryptAndVerify(await withForged(binary, bot!, OPENED_SESSION_KEYS_MAX - 1, where), bot!, [alice!.publicKey], LIMITS);
      expect(Buffer.from(decrypted.inner).toString("utf8")).toBe("genuine\r\n");
      expect(decrypted.signerFingerprint).toBe(alice!.fingerprint);
      expect(tries.count()).toBe(0);
    });
  }

  it(`one forged PKESK more than OPENED_SESSION_KEYS_MAX allows, first or last, in a 2 MB mail: refused (E_PGP_DECRYPT) before any pass over the message, openpgp.js never tries`, async () => {
    const [bot, alice] = await Promise.all(["bot@chat.test", "alice@chat.test"].map((addr) => newIdentity(addr)));
    const binary = await hiddenRecipients(randomBytes(2 * 1024 * 1024).toString("base64"), [alice!.publicKey, bot!.publicKey], alice!);
    for (const where of ["first", "last"] as const) {
      const tries = countPkeskTries();
      await expect(decryptAndVerify(await withForged(binary, bot!, OPENED_SESSION_KEYS_MAX, where), bot!, [alice!.publicKey], LIMITS)).rejects.toMatchObject({
        code: "E_PGP_DECRYPT",
        message: expect.stringContaining("OPENED_SESSION_KEYS_MAX"),
      });
      expect(tries.count()).toBe(0);
      vi.restoreAllMocks();
    }
  });

  it("the same genuine PKESK many times over is one session key: it opens", async () => {
    const [bot, alice] = await Promise.all(["bot@chat.test", "alice@chat.test"].map((addr) => newIdentity(addr)));
    const binary = await hiddenRecipients("twice\r\n", [bot!.publicKey], alice!);
    const frames = readPacketFrames(binary, { legacyFormat: true })!;
    const pkesk = binary.subarray(frames[0]!.start, frames[0]!.end);
    const armored = armorMessage(Buffer.concat([pkesk, pkesk, pkesk, binary.subarray(frames.at(-1)!.start)]));
    expect(Buffer.from((await decryptAndVerify(armored, bot!, [alice!.publicKey], LIMITS)).inner).toString("utf8")).toBe("twice\r\n");
  });

  it(`SESSION_KEY_PACKETS_MAX (${SESSION_KEY_PACKETS_MAX}) session key packets are tried; one more is refused before any is`, async () => {
    const [bot, alice] = await Promise.all(["bot@chat.test", "alice@chat.test"].map((addr) => newIdentity(addr)));
    const binary = await hiddenRecipients("many\r\n", [bot!.publicKey], alice!);
    const frames = readPacketFrames(binary, { legacyFormat: true })!;
    const pkesk = binary.subarray(frames[0]!.start, frames[0]!.end);
    const seipd = binary.subarray(frames.at(-1)!.start);
    const withPkesks = (n: number) => armorMessage(Buffer.concat([...Array.from({ length: n }, () => pkesk), seipd]));
    const atCap = await decryptAndVerify(withPkesks(SESSION_KEY_PACKETS_MAX), bot!, [alice!.publicKey], LIMITS);
    expect(Buffer.from(atCap.inner).toString("utf8")).toBe("many\r\n");
    const tries = countPkeskTries();
    await expect(decryptAndVerify(withPkesks(SESSION_KEY_PACKETS_MAX + 1), bot!, [alice!.publicKey], LIMITS)).rejects.toMatchObject({
      code: "E_PGP_MALFORMED",
      message: expect.stringContaining("SESSION_KEY_PACKETS_MAX"),
    });
    expect(tries.count()).toBe(0);
  });

  it(`a message over ONE_PKESK_AT_A_TIME_MAX_BYTES (a file) still opens, the bot's PKESK first`, async () => {
    const [bot, alice] = await Promise.all(["bot@chat.test", "alice@chat.test"].map((addr) => newIdentity(addr)));
    const big = randomBytes(ONE_PKESK_AT_A_TIME_MAX_BYTES + 1024).toString("base64");
    const binary = await hiddenRecipients(big, [bot!.publicKey, alice!.publicKey], alice!);
    expect(binary.byteLength).toBeGreaterThan(ONE_PKESK_AT_A_TIME_MAX_BYTES);
    const decrypted = await decryptAndVerify(armorMessage(binary), bot!, [alice!.publicKey], LIMITS);
    expect(Buffer.from(decrypted.inner).toString("utf8")).toBe(big);
    expect(decrypted.signerFingerprint).toBe(alice!.fingerprint);
  });

  it(`a bot key of another kind (P-256: openpgp.js reads the mail), a file over ONE_PKESK_AT_A_TIME_MAX_BYTES: one forged PKESK opens, OPENED_SESSION_KEYS_MAX forged ones are refused`, async () => {
    const [bot, alice] = await Promise.all([p256Identity("bot@chat.test"), newIdentity("alice@chat.test")]);
    const big = randomBytes(ONE_PKESK_AT_A_TIME_MAX_BYTES + 1024).toString("base64");
    const binary = await hiddenRecipients(big, [alice!.publicKey, bot.publicKey], alice!);
    const forged = (count: number) => withForged(binary, bot, count, "first");
    const atCap = await decryptAndVerify(await forged(OPENED_SESSION_KEYS_MAX - 1), bot, [alice!.publicKey], LIMITS);
    expect(Buffer.from(atCap.inner).toString("utf8")).toBe(big);
    await expect(decryptAndVerify(await forged(OPENED_SESSION_KEYS_MAX), bot, [alice!.publicKey], LIMITS)).rejects.toMatchObject({
      code: "E_PGP_DECRYPT",
      message: expect.stringContaining("OPENED_SESSION_KEYS_MAX"),
    });
  });

  it("no PKESK opens with the bot's key: E_PGP_DECRYPT after one try each", async () => {
    const [bot, alice, bob] = await Promise.all(["bot@chat.test", "alice@chat.test", "bob@chat.test"].map((addr) => newIdentity(addr)));
    const binary = await hiddenRecipients("not for the bot\r\n", [alice!.publicKey, bob!.publicKey], alice!);
    const tries = countPkeskTries();
    await expect(decryptAndVerify(armorMessage(binary), bot!, [], LIMITS)).rejects.toMatchObject({ code: "E_PGP_DECRYPT" });
    expect(tries.count()).toBe(2);
  });
});
