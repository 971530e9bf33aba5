// The doors' shape check (host/service/mail-shape.ts) at its two caps: how far it looks for the end
// of the header, and how much of the first line it judges. The mail streams in 64 KiB chunks, as
// from a pipe.
import { describe, expect, it } from "vitest";
import { isChatbotError } from "../../../core/errors.js";
import { MAIL_SHAPE_FIRST_LINE_BYTES, MAIL_SHAPE_SCAN_BYTES } from "../../../core/limits.js";
import { checkMailShape } from "../../../host/service/mail-shape.js";

async function* chunks(mail: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < mail.byteLength; at += 64 * 1024) yield mail.subarray(at, at + 64 * 1024);
}

/** "passed" when the whole mail came through unchanged, else the refusal's code and message. */
async function shape(mail: Buffer): Promise<string> {
  const out: Uint8Array[] = [];
  try {
    for await (const chunk of checkMailShape(chunks(mail))) out.push(chunk);
  } catch (error) {
    if (isChatbotError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  return Buffer.concat(out).equals(mail) ? "passed" : "changed";
}

/** A mail whose header, the empty line's LF included, is `bytes` long. */
function headerOf(bytes: number): Buffer {
  const field = "Subject: ";
  return Buffer.from(`${field}${"a".repeat(bytes - field.length - 2)}\n\nbody\n`);
}

describe("mail shape caps", () => {
  it("MAIL_SHAPE_SCAN_BYTES: a header ending exactly at the cap passes, one byte longer is refused", async () => {
    expect(await shape(headerOf(MAIL_SHAPE_SCAN_BYTES))).toBe("passed");
    expect(await shape(headerOf(MAIL_SHAPE_SCAN_BYTES + 1))).toBe(
      `E_MAIL_MALFORMED: malformed mail: no empty line ends the header within the first ${MAIL_SHAPE_SCAN_BYTES} bytes`,
    );
  });

  it("MAIL_SHAPE_FIRST_LINE_BYTES: a first field whose name and ':' fill exactly the cap passes, a name one byte longer is refused", async () => {
    const firstField = (nameBytes: number) => Buffer.from(`${"X".repeat(nameBytes)}: v\n\nbody\n`);
    expect(await shape(firstField(MAIL_SHAPE_FIRST_LINE_BYTES - 1))).toBe("passed");
    expect(await shape(firstField(MAIL_SHAPE_FIRST_LINE_BYTES))).toMatch(/^E_MAIL_MALFORMED: malformed mail: the first line is not a header field/);
  });
});
