// The cheap shape checks a door makes before acknowledging a mail: a mail that fails them can
// never succeed, so `host deliver` refuses it for good (exit 65) instead of letting Postfix retry.
// Only the first MAIL_SHAPE_SCAN_BYTES are looked at; the rest passes through untouched.
import { ChatbotError } from "../../core/errors.js";
import { MAIL_SHAPE_FIRST_LINE_BYTES, MAIL_SHAPE_SCAN_BYTES } from "../../core/limits.js";

const LF = 0x0a;
const CR = 0x0d;

function malformed(why: string): ChatbotError {
  return new ChatbotError("E_MAIL_MALFORMED", `malformed mail: ${why}`);
}

/**
 * Pass `source` through, throwing E_MAIL_MALFORMED when it is empty, when its first line is not a
 * header field (RFC 5322 §2.2: a printable name without ":" or space, then ":"; an mbox "From "
 * line is allowed too) or when no empty line ends the header within the first MAIL_SHAPE_SCAN_BYTES.
 */
export async function* checkMailShape(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let seen = 0;
  let firstLine: number[] | undefined = []; // bytes of the first line until it is complete
  let separatorFound = false;
  let previous = -1; // last byte of the previous line end scan, to see "\n\n" and "\n\r\n" across chunks
  let beforePrevious = -1;
  for await (const chunk of source) {
    if (!separatorFound && seen < MAIL_SHAPE_SCAN_BYTES) {
      const end = Math.min(chunk.byteLength, MAIL_SHAPE_SCAN_BYTES - seen);
      for (let i = 0; i < end; i++) {
        const byte = chunk[i]!;
        if (firstLine !== undefined) {
          if (byte === LF) {
            checkFirstLine(firstLine);
            firstLine = undefined;
          } else if (firstLine.length < MAIL_SHAPE_FIRST_LINE_BYTES) {
            firstLine.push(byte); // enough to judge the name
          }
        }
        // An empty line: LF LF or LF CR LF.
        if (byte === LF && (previous === LF || (previous === CR && beforePrevious === LF))) {
          separatorFound = true;
          break;
        }
        beforePrevious = previous;
        previous = byte;
      }
      seen += chunk.byteLength;
      if (!separatorFound && seen >= MAIL_SHAPE_SCAN_BYTES) throw malformed(`no empty line ends the header within the first ${MAIL_SHAPE_SCAN_BYTES} bytes`);
    } else {
      seen += chunk.byteLength;
    }
    yield chunk;
  }
  if (seen === 0) throw malformed("the input is empty");
  if (firstLine !== undefined) checkFirstLine(firstLine);
  if (!separatorFound) throw malformed("no empty line separates the header from the body");
}

/** The first line must be a header field or an mbox "From " line. */
function checkFirstLine(bytes: number[]): void {
  const line = Buffer.from(bytes).toString("latin1").replace(/\r$/, "");
  if (line.startsWith("From ")) return;
  if (!/^[\x21-\x39\x3b-\x7e]+:/.test(line)) {
    // Printable ASCII only: the reason ends up in a bounce and in Postfix's log.
    const shown = line.slice(0, 40).replace(/[^\x20-\x7e]/g, "?");
    throw malformed(`the first line is not a header field ("${shown}")`);
  }
}
