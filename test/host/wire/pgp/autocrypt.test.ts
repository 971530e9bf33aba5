import * as openpgp from "openpgp";
import { AUTOCRYPT_HEADER_MAX_CHARS } from "../../../../core/limits.js";
import { describe, expect, it } from "vitest";
import { fingerprintOf, formatAutocryptHeader, parseAutocryptHeader, publicKeyFromKeydata } from "../../../../host/wire/pgp/autocrypt.js";
import { generateBotKeyArmored, identityFromArmored } from "../../../../host/wire/pgp/identity.js";
import { fixtureText, runKeys } from "./deltachat-fixtures.js";
import { errorCode } from "../../../support/errors.js";

/** The raw (still folded) value of the first Autocrypt header in a MIME head. */
function autocryptValue(mime: string): string {
  const match = /^Autocrypt: (.*(?:\r?\n[ \t].*)*)/m.exec(mime);
  if (!match) throw new Error("no Autocrypt header");
  return match[1]!;
}

describe("formatAutocryptHeader", () => {
  it('is one line "addr=…; prefer-encrypt=mutual; keydata=…"', () => {
    expect(formatAutocryptHeader("bot@chat.test", "AAAA")).toBe("addr=bot@chat.test; prefer-encrypt=mutual; keydata=AAAA");
  });

  it("round-trips through parseAutocryptHeader and publicKeyFromKeydata to the bot's own key", async () => {
    const bot = await identityFromArmored(await generateBotKeyArmored("bot@chat.test"), "bot@chat.test");
    const parsed = parseAutocryptHeader(formatAutocryptHeader(bot.addr, bot.keydataBase64))!;
    expect(parsed.addr).toBe("bot@chat.test");
    expect(parsed.preferEncrypt).toBe(true);
    expect(Buffer.from(parsed.keydata).equals(Buffer.from(bot.publicKey.write()))).toBe(true);
    expect(fingerprintOf(await publicKeyFromKeydata(parsed.keydata))).toBe(bot.fingerprint);
  });
});

describe("parseAutocryptHeader: real headers from Delta Chat core", () => {
  it("reads the folded (CRLF TAB SPACE) inner header of plain/05 as Alice's key", async () => {
    const { A } = await runKeys("plain");
    const parsed = parseAutocryptHeader(autocryptValue(await fixtureText("plain/05.decrypted.eml")))!;
    expect(parsed.addr).toBe("alice@chat.test");
    expect(parsed.preferEncrypt).toBe(true);
    expect(fingerprintOf(await publicKeyFromKeydata(parsed.keydata))).toBe(A.fingerprint);
  });

  it("reads the outer header of the legacy plaintext vc-request (LF folding)", async () => {
    const { A } = await runKeys("plain-legacyqr");
    const parsed = parseAutocryptHeader(autocryptValue(await fixtureText("plain-legacyqr/01.eml")))!;
    expect(fingerprintOf(await publicKeyFromKeydata(parsed.keydata))).toBe(A.fingerprint);
  });
});

describe("parseAutocryptHeader: what must be ignored (Autocrypt Level 1 §2.1)", () => {
  const KEY = "xjMEawQAixYJKwYBBAHaRw8BAQdA";
  it("an unknown critical attribute makes the whole header undefined", () => {
    expect(parseAutocryptHeader(`addr=a@b.c; keydata=${KEY}; type=2`)).toBeUndefined();
  });
  it("an unknown non-critical attribute (leading _) is ignored", () => {
    expect(parseAutocryptHeader(`addr=a@b.c; _venue=x; keydata=${KEY}`)?.addr).toBe("a@b.c");
  });
  it("addr or keydata missing, an attribute twice, or keydata that is not base64 give undefined", () => {
    expect(parseAutocryptHeader(`keydata=${KEY}`)).toBeUndefined();
    expect(parseAutocryptHeader("addr=a@b.c; prefer-encrypt=mutual")).toBeUndefined();
    expect(parseAutocryptHeader(`addr=a@b.c; addr=d@e.f; keydata=${KEY}`)).toBeUndefined();
    expect(parseAutocryptHeader("addr=a@b.c; keydata=not*base64")).toBeUndefined();
    expect(parseAutocryptHeader("addr=a@b.c; keydata=")).toBeUndefined();
  });
  it("without prefer-encrypt=mutual preferEncrypt is false; the address is lowercased", () => {
    const parsed = parseAutocryptHeader(`addr=Alice@Chat.Test; keydata=${KEY}`);
    expect(parsed?.preferEncrypt).toBe(false);
    expect(parsed?.addr).toBe("alice@chat.test");
  });
});

describe("publicKeyFromKeydata", () => {
  it("refuses bytes that are not a key with E_PGP_MALFORMED", async () => {
    expect(await errorCode(publicKeyFromKeydata(new Uint8Array([1, 2, 3])))).toBe("E_PGP_MALFORMED");
  });

  it("refuses a key without an encryption subkey with E_PGP_MALFORMED", async () => {
    const { privateKey } = await openpgp.generateKey({ userIDs: [{ email: "x@chat.test" }], subkeys: [], format: "object" });
    expect(await errorCode(publicKeyFromKeydata(privateKey.toPublic().write()))).toBe("E_PGP_MALFORMED");
  });

  it("returns only the public part of keydata that carries secret key material", async () => {
    const { privateKey } = await openpgp.generateKey({ userIDs: [{ email: "x@chat.test" }], format: "object" });
    const key = await publicKeyFromKeydata(privateKey.write());
    expect(key.isPrivate()).toBe(false);
    expect(fingerprintOf(key)).toBe(privateKey.getFingerprint().toUpperCase());
  });
  it(`a value of AUTOCRYPT_HEADER_MAX_CHARS (${AUTOCRYPT_HEADER_MAX_CHARS}) is parsed; one character more is ignored before decoding`, () => {
    // Valid base64 of the right length (not a key: the cap comes before any OpenPGP parsing).
    const value = (chars: number) => {
      const head = "addr=a@chat.test; keydata=";
      const pad = chars - head.length;
      return head + "A".repeat(pad - (pad % 4)) + " ".repeat(pad % 4);
    };
    expect(value(AUTOCRYPT_HEADER_MAX_CHARS)).toHaveLength(AUTOCRYPT_HEADER_MAX_CHARS);
    expect(parseAutocryptHeader(value(AUTOCRYPT_HEADER_MAX_CHARS))?.addr).toBe("a@chat.test");
    expect(parseAutocryptHeader(value(AUTOCRYPT_HEADER_MAX_CHARS + 1))).toBeUndefined();
  });
});
