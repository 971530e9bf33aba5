// The session key opened with node:crypto (native-session-key.ts) from PKESKs a hostile sender
// writes: a point that is not a Curve25519 point in its 0x40 form, the all-zero (small-order)
// point, a wrapped key cut short, a wrong checksum. Each is skipped, never thrown past, and the
// message then fares as it did with openpgp.js alone: another PKESK opens it, or E_PGP_DECRYPT.
// Also: the v6 PKESKs of SEIPDv2 mail are left to openpgp.js.
import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { armorMessage } from "../../../../host/wire/pgp/armor.js";
import { decryptAndVerify } from "../../../../host/wire/pgp/decrypt.js";
import { nativeSessionKey } from "../../../../host/wire/pgp/native-session-key.js";
import { readPacketFrames } from "../../../../host/wire/pgp/packets.js";
import { newIdentity } from "../../../support/user-mail.js";
import { errorCode } from "../../../support/errors.js";
import { armoredPart, fixtureText, runKeys } from "./deltachat-fixtures.js";
import type { BotIdentity } from "../../../../host/wire/pgp/identity.js";

const LIMITS = { maxBytes: 30 * 1024 * 1024 };

/** A message from alice to `keys` (hidden recipients), binary, and its PKESK frames. */
async function mailTo(
  keys: openpgp.PublicKey[],
  signer: BotIdentity,
): Promise<{ binary: Uint8Array; pkesks: Array<{ start: number; bodyStart: number; end: number }> }> {
  const message = await openpgp.createMessage({ binary: new TextEncoder().encode("hello\r\n") });
  const binary = await openpgp.encrypt({
    message,
    encryptionKeys: keys,
    signingKeys: signer.privateKey,
    wildcard: true,
    format: "binary",
    config: { aeadProtect: false },
  });
  const frames = readPacketFrames(binary, { legacyFormat: true })!;
  return { binary, pkesks: frames.slice(0, -1) };
}

/** The PKESK body's layout (v3 ECDH): version, key ID (8), algorithm, MPI bit count (2), V (33), wrapped length, wrapped key. */
const V_AT = 1 + 8 + 1 + 2;
const WRAPPED_LENGTH_AT = V_AT + 33;

describe("nativeSessionKey against malformed PKESKs", () => {
  const cases: Array<[string, (body: Uint8Array) => void]> = [
    ["V without its 0x40 prefix", (body) => void (body[V_AT] = 0x41)],
    ["V the all-zero (small-order) point", (body) => body.fill(0, V_AT + 1, V_AT + 33)],
    ["a wrapped key whose last byte is changed (the unwrap's integrity check)", (body) => void (body[body.length - 1]! ^= 0x01)],
    ["a wrapped key length that is not a multiple of 8", (body) => void (body[WRAPPED_LENGTH_AT] = body[WRAPPED_LENGTH_AT]! - 1)],
  ];
  for (const [what, spoil] of cases) {
    it(`${what}: skipped; the bot's only PKESK spoiled is E_PGP_DECRYPT, a second genuine one still opens the mail`, async () => {
      const [bot, alice] = await Promise.all([newIdentity("bot@chat.test"), newIdentity("alice@chat.test")]);
      const { binary, pkesks } = await mailTo([bot.publicKey], alice);
      const spoiled = Uint8Array.from(binary);
      const body = spoiled.subarray(pkesks[0]!.bodyStart, pkesks[0]!.end);
      expect(body[0]).toBe(3);
      spoil(body);
      const message = await openpgp.readMessage({ binaryMessage: spoiled }).catch(() => undefined);
      if (message) expect(await nativeSessionKey(message, bot)).toBeUndefined();
      expect(await errorCode(decryptAndVerify(armorMessage(spoiled), bot, [alice.publicKey], LIMITS))).toMatch(/^E_PGP_(DECRYPT|MALFORMED)$/);
      // The spoiled PKESK first, then a genuine one for the bot: the genuine one opens it.
      const genuine = binary.subarray(pkesks[0]!.start, pkesks[0]!.end);
      const both = Buffer.concat([spoiled.subarray(0, pkesks[0]!.end), genuine, spoiled.subarray(pkesks[0]!.end)]);
      const read = await decryptAndVerify(armorMessage(both), bot, [alice.publicKey], LIMITS);
      expect(Buffer.from(read.inner).toString("utf8")).toBe("hello\r\n");
    });
  }

  it("v6 PKESKs (core 2.57 to a key that advertises SEIPDv2; a bot's key does not) are left to openpgp.js, which opens them", async () => {
    const { A, B } = await runKeys("plain");
    const armored = armoredPart(await fixtureText("plain/05.eml"));
    const message = await openpgp.readMessage({ armoredMessage: armored });
    expect(message.packets.filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey).map((p) => (p as unknown as { version: number }).version)).toEqual([
      6, 6,
    ]);
    expect(await nativeSessionKey(message, B.identity)).toBeUndefined();
    const read = await decryptAndVerify(armored, B.identity, [A.publicKey], LIMITS);
    expect(read.signerFingerprint).toBe(A.fingerprint);
  });
});
