// Copy a mail into an open file while counting: the cap is checked before each chunk is written,
// so an oversized mail is refused having written at most `maxBytes` bytes (which the caller deletes).
import type { FileHandle } from "node:fs/promises";
import { ChatbotError } from "../../core/errors.js";

/** Bytes or a stream of byte chunks (process.stdin, an LMTP DATA stream, a file stream). */
export type MailSource = Uint8Array | AsyncIterable<Uint8Array>;

/** The error for a mail over `maxBytes` (the door maps it to exit 65 / LMTP 552). */
function mailTooLarge(maxBytes: number): ChatbotError {
  return new ChatbotError("E_MAIL_TOO_LARGE", `the mail is larger than ${maxBytes} bytes`);
}

/** Write all of `source` to `handle`; throws E_MAIL_TOO_LARGE as soon as more than `maxBytes` arrived. Returns the byte count. */
export async function copyBounded(handle: FileHandle, source: MailSource, maxBytes: number): Promise<number> {
  if (source instanceof Uint8Array) {
    if (source.byteLength > maxBytes) throw mailTooLarge(maxBytes);
    await writeAll(handle, source);
    return source.byteLength;
  }
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > maxBytes) throw mailTooLarge(maxBytes);
    await writeAll(handle, chunk);
  }
  return total;
}

/** handle.write may write less than asked (e.g. near a full disk before it fails): loop until done. */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}
