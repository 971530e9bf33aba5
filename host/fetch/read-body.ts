// Reading a response body without ever holding more than the cap: the stream is destroyed (which
// closes the connection) the moment it goes over, so a 100 MB answer costs at most cap + one chunk.

import { ChatbotError } from "../../core/errors.js";

/** The part of undici's body stream this module uses. */
export interface BodyStream extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/** Read the whole body into one buffer; E_FETCH_TOO_LARGE (stream destroyed) once it exceeds `maxBytes`. */
export async function readCappedBody(body: BodyStream, maxBytes: number, origin: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      abandonBody(body);
      throw tooLarge(origin, maxBytes);
    }
    chunks.push(chunk);
  }
  const result = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    result.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return result;
}

/** Discard a body, reading at most `limitBytes` of it; returns the bytes read (for bandwidth accounting). */
export async function discardBody(body: BodyStream, limitBytes: number): Promise<number> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limitBytes) {
      abandonBody(body);
      break;
    }
  }
  return total;
}

/** Stop reading a body and close its connection; the abort error undici then emits is expected, not a crash. */
export function abandonBody(body: BodyStream): void {
  body.on("error", () => {});
  body.destroy();
}

/** The E_FETCH_TOO_LARGE error for a response over the cap. */
export function tooLarge(origin: string, maxBytes: number): ChatbotError {
  return new ChatbotError("E_FETCH_TOO_LARGE", `the response from ${origin} is larger than the ${maxBytes}-byte limit`);
}
