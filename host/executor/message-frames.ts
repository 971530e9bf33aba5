// The channel between the host and a runner (issue 12): messages as v8-serialized frames, each
// after a 4-byte big-endian length, over a pipe of its own (fd 3 host → runner, fd 4 runner → host).
// Not Node's own IPC channel: that one buffers a message of any announced length before handing it
// over, so a runner a bot broke out of could make the host hold gigabytes. Here the reader learns
// a frame's length from its header and refuses one over its cap before reading a byte of it.
import type { Readable, Writable } from "node:stream";
import { deserialize, serialize } from "node:v8";

/** Bytes of the length header before each frame. */
const HEADER_BYTES = 4;

/**
 * Write `message` as one frame; false when the stream wants a pause (Writable.write's answer).
 * Header and body go out in one system call: a pipe write is a system call that wakes the reader, and
 * each event crosses twice (host → runner, runner → host).
 */
export function writeFrame(stream: Writable, message: unknown): boolean {
  const body = serialize(message);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(body.byteLength, 0);
  // Corked, the two chunks leave in one writev when uncorked (no copy of a large body).
  stream.cork();
  stream.write(header);
  const ok = stream.write(body);
  stream.uncork();
  return ok;
}

export interface FrameReaderOptions {
  /** The largest frame taken now, bytes (it may depend on the event in hand). */
  maxBytes: () => number;
  onMessage: (message: unknown) => void;
  /** A frame over the cap or one that does not deserialize: the stream is destroyed first. */
  onError: (why: string) => void;
}

/** Read frames from `stream` until it ends or a frame is refused. */
export function readFrames(stream: Readable, options: FrameReaderOptions): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  /** The length of the frame being read, or -1 while its header is. */
  let expected = -1;
  let stopped = false;
  const take = (bytes: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
    chunks = all.byteLength > bytes ? [all.subarray(bytes)] : [];
    buffered -= bytes;
    return all.subarray(0, bytes);
  };
  const stop = (why: string) => {
    stopped = true;
    chunks = [];
    stream.destroy();
    options.onError(why);
  };
  stream.on("data", (chunk: Buffer) => {
    if (stopped) return;
    chunks.push(chunk);
    buffered += chunk.byteLength;
    while (!stopped) {
      if (expected < 0) {
        if (buffered < HEADER_BYTES) return;
        expected = take(HEADER_BYTES).readUInt32BE(0);
        const max = options.maxBytes();
        if (expected > max) return stop(`a message of ${expected} bytes, over the ${max}-byte cap`);
      }
      if (buffered < expected) return;
      const body = take(expected);
      expected = -1;
      let message: unknown;
      try {
        message = deserialize(body);
      } catch (error) {
        return stop(`a message that does not deserialize (${(error as Error).message})`);
      }
      options.onMessage(message);
    }
  });
}
