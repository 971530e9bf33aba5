// Attacks on the MIME layer, performed for real: each must be refused or parsed quickly, never crash
// the host (stack overflow, runaway memory) or hang it.
import { describe, expect, it } from "vitest";
import { isChatbotError } from "../../../../core/errors.js";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { INNER_MAX_HEADER_BYTES, INNER_MAX_MIME_NODES } from "../../../../core/limits.js";
import { parsePlainSecureJoinRequest } from "../../../../host/wire/mime/parse-plain-securejoin.js";

const LIMITS = { maxBytes: 31_457_280 };
const MiB = 1024 * 1024;

/** A multipart nested `depth` levels deep, each level its own boundary. */
function nestedMultipart(depth: number): Buffer {
  const open: string[] = ["From: <a@x.example>", "Secure-Join: vc-request", "Secure-Join-Invitenumber: abc"];
  const close: string[] = [];
  for (let level = 0; level < depth; level++) {
    open.push(`Content-Type: multipart/mixed; boundary="b${level}"`, "", `--b${level}`);
    close.unshift(`--b${level}--`);
  }
  open.push("Content-Type: text/plain", "", "Secure-Join: vc-request");
  return Buffer.from([...open, ...close, ""].join("\r\n"));
}

/** Either a ChatbotError code or "parsed": the only two acceptable outcomes. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "parsed";
  } catch (error) {
    if (isChatbotError(error)) return error.code;
    throw error;
  }
}

// No "within N ms" here (timing lives in make bench): a hang or a quadratic blow-up runs into the
// test timeout (vitest.config.ts, 60 s) and fails the test.
describe("hostile MIME: nesting and header bombs are refused or parsed in bounded time", () => {
  it("a 10 000-level nested multipart inner is refused by parseInner (over 1000 MIME nodes)", async () => {
    expect(await outcome(() => parseInner(nestedMultipart(10_000), LIMITS))).toBe("E_MAIL_TOO_LARGE");
  });

  it("a 10 000-level nested multipart is not encrypted for parseOuter and not a SecureJoin request", async () => {
    const mail = nestedMultipart(10_000);
    expect(parseOuter(mail, LIMITS).encrypted).toBeUndefined();
    expect(await parsePlainSecureJoinRequest(mail)).toBeUndefined();
  });

  it("a 5 MB header line is refused by parseInner (mailparser caps a header section at 1 MiB)", async () => {
    const bomb = Buffer.concat([Buffer.from("Content-Type: text/plain\r\nX-Bomb: "), Buffer.alloc(5 * MiB, "a"), Buffer.from("\r\n\r\nhello")]);
    expect(await outcome(() => parseInner(bomb, LIMITS))).toBe("E_MAIL_TOO_LARGE");
  });

  it("a 5 MB header of 300 000 folded lines is refused by parseInner and read in bounded time by parseOuter", async () => {
    const bomb = Buffer.from(`From: <a@x.example>\r\nX-Bomb: start\r\n${" aaaaaaaaaaaaaa\r\n".repeat(300_000)}\r\nhello`);
    expect(bomb.byteLength).toBeGreaterThan(5_000_000);
    expect(await outcome(() => parseInner(bomb, LIMITS))).toBe("E_MAIL_TOO_LARGE");
    const outer = parseOuter(bomb, LIMITS);
    expect(outer.from).toBe("a@x.example");
    expect(outer.encrypted).toBeUndefined();
  });

  it("a million empty parts in multipart/encrypted are not encrypted (parts are counted, not trusted)", () => {
    const mail = Buffer.from(
      `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="x"\r\n\r\n${"--x\r\n".repeat(1_000_000)}--x--\r\n`,
    );
    expect(parseOuter(mail, LIMITS).encrypted).toBeUndefined();
  });
});

describe("inner MIME caps (limits.ts) at and over the boundary", () => {
  /** A multipart/mixed with `leaves` text parts: leaves + 1 MIME nodes. */
  const wide = (leaves: number) =>
    Buffer.from(
      [
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        ...Array.from({ length: leaves }, () => "--b\r\nContent-Type: text/plain\r\n\r\nx"),
        "--b--",
        "",
      ].join("\r\n"),
    );

  it(`exactly INNER_MAX_MIME_NODES (${INNER_MAX_MIME_NODES}) nodes are parsed, one more is refused`, async () => {
    expect(await outcome(() => parseInner(wide(INNER_MAX_MIME_NODES - 1), LIMITS))).toBe("parsed");
    expect(await outcome(() => parseInner(wide(INNER_MAX_MIME_NODES), LIMITS))).toBe("E_MAIL_TOO_LARGE");
  });

  /** A text/plain whose header section (one long field and the empty line) is `bytes` long. */
  const header = (bytes: number) => {
    const name = "X-Pad: ";
    return Buffer.from(`${name}${"a".repeat(bytes - name.length - 4)}\r\n\r\nhello`);
  };

  it(`a header section of exactly INNER_MAX_HEADER_BYTES (${INNER_MAX_HEADER_BYTES}) is parsed, one byte more is refused`, async () => {
    expect(await outcome(() => parseInner(header(INNER_MAX_HEADER_BYTES), LIMITS))).toBe("parsed");
    expect(await outcome(() => parseInner(header(INNER_MAX_HEADER_BYTES + 1), LIMITS))).toBe("E_MAIL_TOO_LARGE");
  });
});
