// OpenPGP packet framing (RFC 9580 §4.2): where each top-level packet starts and ends, without
// parsing or decrypting anything. Both the relay check (filtermail) and our own decryptors judge a
// message's shape from these frames before any key or password is touched.

/** Packet type IDs this layer cares about (RFC 9580 §5). */
export const PacketTag = {
  PKESK: 1,
  SIGNATURE: 2,
  SKESK: 3,
  ONE_PASS_SIGNATURE: 4,
  COMPRESSED: 8,
  LITERAL: 11,
  SEIPD: 18,
} as const;

/** One top-level packet: its type ID and byte range; `partial` bodies are not contiguous. */
export interface PacketFrame {
  tag: number;
  /** Offset of the packet's first header octet. */
  start: number;
  /** Offset of the body (for a partial body: of its first chunk). */
  bodyStart: number;
  /** Offset just past the packet. */
  end: number;
  /** True when the body uses partial body lengths (RFC 9580 §4.2.1.4). */
  partial: boolean;
}

/**
 * The packets of `bytes`, or undefined when a header is malformed or truncated or a packet runs
 * past the end. `legacyFormat: false` refuses legacy-format headers (bit 6 clear) like filtermail
 * before 0.3.0 does; legacy packets with indeterminate length are always refused.
 */
export function readPacketFrames(bytes: Uint8Array, options: { legacyFormat: boolean }): PacketFrame[] | undefined {
  const frames: PacketFrame[] = [];
  let i = 0;
  const at = (index: number): number | undefined => (index < bytes.length ? bytes[index] : undefined);
  while (i < bytes.length) {
    const start = i;
    const first = bytes[i]!;
    if ((first & 0x80) === 0) return undefined;
    const openpgpFormat = (first & 0x40) !== 0;
    let tag: number;
    let partial = false;
    let bodyLength: number;
    if (openpgpFormat) {
      tag = first & 0x3f;
      i += 1;
      // Partial chunks: a length octet 224..254 announces 2^(octet & 0x1F) bytes, then another length.
      let octet = at(i);
      while (octet !== undefined && octet >= 224 && octet < 255) {
        partial = true;
        i += 1 + 2 ** (octet & 0x1f);
        octet = at(i);
      }
      if (octet === undefined) return undefined;
      if (octet < 192) {
        bodyLength = octet;
        i += 1;
      } else if (octet < 224) {
        const second = at(i + 1);
        if (second === undefined) return undefined;
        bodyLength = ((octet - 192) << 8) + second + 192;
        i += 2;
      } else {
        const b = [at(i + 1), at(i + 2), at(i + 3), at(i + 4)];
        if (b.some((v) => v === undefined)) return undefined;
        const [b1, b2, b3, b4] = b as [number, number, number, number];
        bodyLength = b1 * 2 ** 24 + (b2 << 16) + (b3 << 8) + b4;
        i += 5;
      }
    } else {
      if (!options.legacyFormat) return undefined;
      tag = (first & 0x3c) >> 2;
      const lengthType = first & 0x03;
      i += 1;
      const size = lengthType === 0 ? 1 : lengthType === 1 ? 2 : lengthType === 2 ? 4 : 0;
      if (size === 0) return undefined; // indeterminate length: RFC 9580 §4.2.2 forbids generating it
      bodyLength = 0;
      for (let k = 0; k < size; k++) {
        const value = at(i + k);
        if (value === undefined) return undefined;
        bodyLength = bodyLength * 256 + value;
      }
      i += size;
    }
    const bodyStart = partial ? start + 2 : i;
    i += bodyLength;
    if (i > bytes.length) return undefined;
    frames.push({ tag, start, bodyStart, end: i, partial });
  }
  return frames;
}

/** True for the only shape an encrypted message may have: (PKESK|SKESK)* followed by exactly one SEIPD. */
export function isEncryptedMessageShape(frames: readonly PacketFrame[]): boolean {
  const last = frames.at(-1);
  if (last === undefined || last.tag !== PacketTag.SEIPD) return false;
  return frames.slice(0, -1).every((frame) => frame.tag === PacketTag.PKESK || frame.tag === PacketTag.SKESK);
}

/**
 * The body of `frame` (a frame of `bytes`) as one contiguous array: a subarray for a fixed length,
 * the chunks joined for a partial body (RFC 9580 §4.2.1.4). readPacketFrames checked every length.
 */
export function packetBody(bytes: Uint8Array, frame: PacketFrame): Uint8Array {
  if (!frame.partial) return bytes.subarray(frame.bodyStart, frame.end);
  const chunks: Uint8Array[] = [];
  let i = frame.start + 1;
  for (;;) {
    const octet = bytes[i]!;
    if (octet >= 224 && octet < 255) {
      const size = 2 ** (octet & 0x1f);
      chunks.push(bytes.subarray(i + 1, i + 1 + size));
      i += 1 + size;
      continue;
    }
    // The last chunk has a one-, two- or five-octet length and ends the packet.
    const headerBytes = octet < 192 ? 1 : octet < 224 ? 2 : 5;
    chunks.push(bytes.subarray(i + headerBytes, frame.end));
    return Buffer.concat(chunks);
  }
}
