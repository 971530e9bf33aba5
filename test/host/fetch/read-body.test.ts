// Throwing a redirect's body away (host/fetch/read-body.ts) at REDIRECT_DRAIN_BYTES: a body of the
// cap is read to its end, so undici can reuse the connection; a longer one is cut off, which closes it.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { REDIRECT_DRAIN_BYTES } from "../../../core/limits.js";
import { discardBody } from "../../../host/fetch/read-body.js";

/** A body of `bytes`, in 16 KiB chunks, and how much of it was pulled from its source. */
function body(bytes: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = Readable.from(
    (function* () {
      for (let at = 0; at < bytes; at += 16 * 1024) {
        const chunk = new Uint8Array(Math.min(16 * 1024, bytes - at));
        pulled += chunk.byteLength;
        yield chunk;
      }
    })(),
  );
  return { stream, pulled: () => pulled };
}

describe("redirect bodies", () => {
  it("REDIRECT_DRAIN_BYTES: a body of exactly the cap is read to its end; one byte more is cut off", async () => {
    const atCap = body(REDIRECT_DRAIN_BYTES);
    expect(await discardBody(atCap.stream, REDIRECT_DRAIN_BYTES)).toBe(REDIRECT_DRAIN_BYTES);
    expect(atCap.stream.readableEnded).toBe(true);

    const over = body(10 * REDIRECT_DRAIN_BYTES);
    expect(await discardBody(over.stream, REDIRECT_DRAIN_BYTES)).toBe(REDIRECT_DRAIN_BYTES + 16 * 1024);
    expect(over.stream.readableEnded).toBe(false);
    expect(over.stream.destroyed).toBe(true);
    expect(over.pulled()).toBeLessThan(10 * REDIRECT_DRAIN_BYTES);

    const oneOver = body(REDIRECT_DRAIN_BYTES + 1);
    expect(await discardBody(oneOver.stream, REDIRECT_DRAIN_BYTES)).toBe(REDIRECT_DRAIN_BYTES + 1);
    expect(oneOver.stream.readableEnded).toBe(false);
    expect(oneOver.stream.destroyed).toBe(true);
  });
});
