import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { checkEncryptedMime } from "../../../host/wire/filtermail-check.js";
import { armorMessage } from "../../../host/wire/pgp/armor.js";
import { signAndEncrypt } from "../../../host/wire/pgp/encrypt.js";
import { generateBotKeyArmored, identityFromArmored } from "../../../host/wire/pgp/identity.js";
import { readPacketFrames } from "../../../host/wire/pgp/packets.js";
import { encryptSymmetricSigned } from "../../../host/wire/pgp/securejoin-symmetric.js";
import { armoredPart, fixtureText, RUNS, runKeys, wireCapture } from "./pgp/deltachat-fixtures.js";

const BOUNDARY = "b0undary_x";

/** A minimal RFC 3156 multipart/encrypted message (CRLF), with optional changes for the negative cases. */
function compose(armored: string, change: { part1Body?: string; extraPart?: string } = {}): string {
  const lines = [
    "From: <bot@chat.test>",
    'To: "hidden-recipients": ;',
    "Subject: [...]",
    "MIME-Version: 1.0",
    `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";`,
    `\tboundary="${BOUNDARY}"`,
    "",
    `--${BOUNDARY}`,
    "Content-Type: application/pgp-encrypted",
    "Content-Transfer-Encoding: 7bit",
    "",
    change.part1Body ?? "Version: 1",
    "",
    `--${BOUNDARY}`,
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    "Content-Transfer-Encoding: 7bit",
    "",
    armored.replace(/\r\n$/, ""),
    "",
  ];
  if (change.extraPart !== undefined) lines.push(`--${BOUNDARY}`, "Content-Type: text/plain", "", change.extraPart, "");
  lines.push(`--${BOUNDARY}--`, "");
  return lines.join("\r\n");
}

let botPromise: ReturnType<typeof identityFromArmored> | undefined;
const bot = () => (botPromise ??= generateBotKeyArmored("bot@chat.test").then((key) => identityFromArmored(key, "bot@chat.test")));

/** A real encrypted message from the bot to Alice. */
async function botMessage(): Promise<string> {
  const { A } = await runKeys("plain");
  return signAndEncrypt("Content-Type: text/plain\r\n\r\nhi\r\n", [A.publicKey], await bot());
}

describe("checkEncryptedMime: what filtermail lets through", () => {
  for (const run of RUNS) {
    for (const n of ["01", "02", "03", "04", "05", "06"]) {
      if (run === "plain-legacyqr" && n === "01") continue; // the plaintext vc-request
      it(`accepts the recorded capture ${run}/${n}.eml as it crossed SMTP (CRLF)`, async () => {
        expect(checkEncryptedMime(await wireCapture(`${run}/${n}.eml`))).toEqual({ ok: true });
      });
    }
  }

  it("accepts the top-level copies, as a Uint8Array too", async () => {
    for (const name of ["encrypted-text-message.eml", "securejoin-v3-vc-request-pubkey.eml"]) {
      expect(checkEncryptedMime(Buffer.from(await wireCapture(name)))).toEqual({ ok: true });
    }
  });

  it("accepts a composed message around signAndEncrypt's output", async () => {
    expect(checkEncryptedMime(compose(await botMessage()))).toEqual({ ok: true });
  });

  it("accepts a composed message around encryptSymmetricSigned's output (SecureJoin vc-pubkey)", async () => {
    expect(checkEncryptedMime(compose(await encryptSymmetricSigned("Secure-Join: vc-pubkey\r\n\r\n", "pw", await bot())))).toEqual({
      ok: true,
    });
  });

  it("accepts base64 transfer encoding of the armored part (filtermail decodes the body first)", async () => {
    const armored = await botMessage();
    const mail = compose("PLACEHOLDER").replace(
      "Content-Transfer-Encoding: 7bit\r\n\r\nPLACEHOLDER",
      `Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from(armored).toString("base64").replace(/.{76}/g, "$&\r\n")}`,
    );
    expect(checkEncryptedMime(mail)).toEqual({ ok: true });
  });
});

describe("checkEncryptedMime: what filtermail refuses (523 Encryption Needed)", () => {
  it("refuses plaintext: the legacy SecureJoin vc-request and a text/plain mail", async () => {
    expect(checkEncryptedMime(await wireCapture("securejoin-vc-request-legacy-plaintext.eml")).ok).toBe(false);
    expect(checkEncryptedMime("From: <a@b.c>\r\nContent-Type: text/plain\r\n\r\nhello\r\n")).toEqual({
      ok: false,
      reason: "not a multipart message",
    });
  });

  it("refuses a third part", async () => {
    const result = checkEncryptedMime(compose(await botMessage(), { extraPart: "hello" }));
    expect(result).toEqual({ ok: false, reason: "multipart/encrypted has 3 parts, not 2" });
  });

  it('refuses a part 1 whose body is not "Version: 1"', async () => {
    expect(checkEncryptedMime(compose(await botMessage(), { part1Body: "Version: 2" })).ok).toBe(false);
  });

  it("the CRC trap: refuses the same message armored without its CRC line when the base64 ends in padding", async () => {
    // openpgp.js writes no CRC line after a SEIPDv2 packet; find one whose base64 needs padding.
    for (let size = 1; ; size++) {
      const armored = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: new Uint8Array(size) }),
        passwords: "pw",
        config: { aeadProtect: true },
      });
      const binary = (await openpgp.unarmor(armored)).data as Uint8Array;
      if (binary.length % 3 === 0) continue;
      const openpgpArmor = armored.replace(/\r?\n/g, "\r\n");
      expect(openpgpArmor).not.toMatch(/\r\n=[A-Za-z0-9+/]{4}\r\n/);
      expect(checkEncryptedMime(compose(openpgpArmor)).ok).toBe(false);
      expect(checkEncryptedMime(compose(armorMessage(binary)))).toEqual({ ok: true });
      break;
    }
  });

  it("refuses a literal data packet instead of a SEIPD", async () => {
    const literal = (await openpgp.createMessage({ text: "plain text in disguise" })).write();
    expect(checkEncryptedMime(compose(armorMessage(literal))).ok).toBe(false);
  });

  it("refuses two SEIPD packets", async () => {
    const binary = (await openpgp.unarmor(await botMessage())).data as Uint8Array;
    const frames = readPacketFrames(binary, { legacyFormat: false })!;
    const seipd = binary.subarray(frames.at(-1)!.start);
    const doubled = new Uint8Array(Buffer.concat([binary, seipd]));
    expect(checkEncryptedMime(compose(armorMessage(doubled))).ok).toBe(false);
  });

  it("refuses a capture with bare LF line ends (the BEGIN line must end in CRLF)", async () => {
    expect(checkEncryptedMime(await fixtureText("plain/05.eml")).ok).toBe(false);
  });

  it("refuses a Version armor header in outgoing mail", async () => {
    const armored = armoredPart(await wireCapture("plain/05.eml")).replace(
      "-----BEGIN PGP MESSAGE-----\r\n",
      "-----BEGIN PGP MESSAGE-----\r\nVersion: OpenPGP.js\r\n",
    );
    expect(checkEncryptedMime(compose(armored)).ok).toBe(false);
  });

  it("refuses multipart/mixed holding the same two parts", async () => {
    const mail = compose(await botMessage()).replace("multipart/encrypted", "multipart/mixed");
    expect(checkEncryptedMime(mail)).toEqual({ ok: false, reason: "top-level type is multipart/mixed, not multipart/encrypted" });
  });

  it("refuses a part 2 that is not application/octet-stream", async () => {
    const mail = compose(await botMessage()).replace('application/octet-stream; name="encrypted.asc"', "text/plain");
    expect(checkEncryptedMime(mail).ok).toBe(false);
  });

  it("refuses a truncated packet stream", async () => {
    const binary = (await openpgp.unarmor(await botMessage())).data as Uint8Array;
    expect(checkEncryptedMime(compose(armorMessage(binary.subarray(0, binary.length - 1)))).ok).toBe(false);
  });
});
