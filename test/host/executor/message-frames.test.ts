// The host ⇄ runner channel's framing (message-frames.ts): messages round-trip whatever the chunk
// boundaries, and a frame over the cap is refused from its header, before its body is read.
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { readFrames, writeFrame } from "../../../host/executor/message-frames.js";

/** Frames written to a buffer, then fed to a reader in chunks of `chunk` bytes. */
function roundTrip(messages: unknown[], chunk: number, maxBytes = Number.MAX_SAFE_INTEGER) {
  const sink = new PassThrough();
  for (const message of messages) writeFrame(sink, message);
  sink.end();
  const bytes = sink.read() as Buffer;
  const source = new PassThrough();
  const received: unknown[] = [];
  const errors: string[] = [];
  readFrames(source, { maxBytes: () => maxBytes, onMessage: (m) => received.push(m), onError: (why) => errors.push(why) });
  for (let at = 0; at < bytes.byteLength; at += chunk) source.write(bytes.subarray(at, at + chunk));
  return { received, errors, destroyed: source.destroyed };
}

describe("message frames", () => {
  const messages = [{ type: "ready" }, { type: "result", id: 1, bytes: new Uint8Array([1, 2, 3]), text: "é🙂" }, "x".repeat(70_000), null];

  it("round-trip in one chunk, byte by byte, and in odd chunks", () => {
    for (const chunk of [1 << 20, 1, 7, 4096]) {
      const { received, errors } = roundTrip(messages, chunk);
      expect(errors).toEqual([]);
      expect(received).toEqual(messages);
    }
  });

  it("a frame over the cap is refused from its header; the stream is destroyed and nothing after it is read", () => {
    const { received, errors, destroyed } = roundTrip([{ small: 1 }, "y".repeat(5000), { after: 1 }], 3, 1000);
    expect(received).toEqual([{ small: 1 }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^a message of \d+ bytes, over the 1000-byte cap$/);
    expect(destroyed).toBe(true);
  });
});
