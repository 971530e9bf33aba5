// The header block of a raw message read from its first bytes only: what the host looks at before
// (or instead of) parsing a mail it may not trust — a deploy's marker, a Message-ID, a doctor's
// probe. Latin-1, so every byte stays one character and nothing is decoded.

/** The header block of `raw` (up to its first empty line) within its first `scanBytes` bytes. */
export function headerBlock(raw: Uint8Array, scanBytes: number): string {
  const head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, scanBytes)).toString("latin1");
  const end = head.search(/\r?\n\r?\n/);
  return end === -1 ? head : head.slice(0, end);
}
