import { describe, expect, it } from "vitest";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { capture, crlf, errorCode, outerCaptures } from "./fixtures.js";

const LIMITS = { maxBytes: 1_000_000 };
const LEGACY_REQUEST = "plain-legacyqr/01.eml";

describe("parse-outer: the recorded outer mails of Delta Chat 2.57.0", () => {
  const encrypted = outerCaptures().filter((path) => path !== LEGACY_REQUEST);

  it("finds every capture (4 runs, 23 encrypted mails and the legacy request)", () => {
    expect(encrypted).toHaveLength(23);
    expect(outerCaptures()).toContain(LEGACY_REQUEST);
  });

  it.each(encrypted)("%s: the armored text is the second part, byte for byte", (path) => {
    const raw = capture(path);
    const outer = parseOuter(raw, LIMITS);
    const armored = outer.encrypted?.armored ?? "";
    expect(armored.startsWith("-----BEGIN PGP MESSAGE-----")).toBe(true);
    expect(armored.trimEnd().endsWith("-----END PGP MESSAGE-----")).toBe(true);
    // Byte-identical to the region of the capture it came from (dovecot stores LF line ends).
    const start = raw.indexOf("-----BEGIN PGP MESSAGE-----");
    expect(raw.subarray(start, start + armored.length).toString("latin1")).toBe(armored);
    expect(outer.from).toMatch(/^(alice|bob)@chat\.test$/);
    expect(outer.messageId).toMatch(/^<[0-9a-f-]+@localhost>$/);
    expect(outer.headers.get("subject")).toEqual(["[...]"]);
  });

  it("the legacy vc-request is not encrypted, but its headers and sender are read", () => {
    const outer = parseOuter(capture(LEGACY_REQUEST), LIMITS);
    expect(outer.encrypted).toBeUndefined();
    expect(outer.from).toBe("alice@chat.test");
    expect(outer.headers.get("secure-join")).toEqual(["vc-request"]);
    // Folded header values come back unfolded (the line break gone, the WSP kept).
    expect(outer.headers.get("autocrypt")?.[0]).not.toMatch(/[\r\n]/);
  });

  it("multipart/encrypted with a third part is not encrypted (filtermail: exactly two leaf parts)", () => {
    const raw = capture("plain/05.eml").toString("latin1");
    const boundary = /boundary="([^"]+)"/.exec(raw)![1]!;
    const extra = raw.replace(`--${boundary}--`, `--${boundary}\nContent-Type: text/plain\n\nsmuggled\n--${boundary}--`);
    expect(parseOuter(Buffer.from(extra, "latin1"), LIMITS).encrypted).toBeUndefined();
  });

  it("a first part other than application/pgp-encrypted with Version: 1 is not encrypted", () => {
    const raw = capture("plain/05.eml").toString("latin1");
    expect(parseOuter(Buffer.from(raw.replace("\n\nVersion: 1\n", "\n\nVersion: 2\n"), "latin1"), LIMITS).encrypted).toBeUndefined();
    expect(parseOuter(Buffer.from(raw.replace("application/pgp-encrypted; charset", "text/plain; charset"), "latin1"), LIMITS).encrypted).toBeUndefined();
  });

  it("a nested multipart in place of the armored part is not encrypted", () => {
    const mail = crlf(
      "From: <a@b.example>",
      'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="X"',
      "",
      "--X",
      "Content-Type: application/pgp-encrypted",
      "",
      "Version: 1",
      "--X",
      'Content-Type: multipart/mixed; boundary="Y"',
      "",
      "--Y",
      "Content-Type: application/octet-stream",
      "",
      "-----BEGIN PGP MESSAGE-----",
      "--Y--",
      "--X--",
      "",
    );
    expect(parseOuter(mail, LIMITS).encrypted).toBeUndefined();
  });

  it("a mail without a closing delimiter is not encrypted", () => {
    const raw = capture("plain/05.eml").toString("latin1");
    const boundary = /boundary="([^"]+)"/.exec(raw)![1]!;
    expect(parseOuter(Buffer.from(raw.replace(`--${boundary}--`, ""), "latin1"), LIMITS).encrypted).toBeUndefined();
  });

  it("size cap: a mail of exactly maxBytes is parsed, one byte more is refused before parsing", async () => {
    const raw = capture("plain/05.eml");
    expect(parseOuter(raw, { maxBytes: raw.byteLength }).encrypted).toBeDefined();
    expect(await errorCode(() => parseOuter(raw, { maxBytes: raw.byteLength - 1 }))).toBe("E_MAIL_TOO_LARGE");
  });
});
