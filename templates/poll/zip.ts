// A zip writer for the sandbox, which has no zlib: files are stored uncompressed (method 0,
// PKWARE APPNOTE.TXT §4.3), which every unzipper and Delta Chat's webxdc loader read. All a
// webxdc needs: a local header + data per file, a central directory, an end record.

/** A file to put into the zip. */
export interface ZipFile {
  /** Path inside the zip, "/"-separated, ASCII (e.g. "index.html"). */
  name: string;
  data: Uint8Array;
}

/** UTF-8 bytes of `text` (QuickJS has no TextEncoder); a lone surrogate becomes U+FFFD. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** CRC-32 as zip uses it (reflected polynomial 0xEDB88320, APPNOTE §4.4.7). */
export function crc32(bytes: Uint8Array): number {
  // The 256-entry table costs ~2k operations: cheaper to build per call than to keep as module state.
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** MS-DOS time and date words (2-second resolution, years 1980–2107) of `ms` since the epoch, in UTC. */
function dosDateTime(ms: number): { time: number; date: number } {
  const d = new Date(Math.min(Math.max(ms, Date.UTC(1980, 0, 1)), Date.UTC(2107, 11, 31)));
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/**
 * A zip archive of `files`, stored (not compressed). `modified` (ms since the epoch) becomes every
 * file's date; the same input always gives the same bytes, so a retried event sends the same app.
 */
export function storedZip(files: readonly ZipFile[], modified = Date.UTC(1980, 0, 1)): Uint8Array {
  const { time, date } = dosDateTime(modified);
  const names = files.map((f) => utf8(f.name));
  const crcs = files.map((f) => crc32(f.data));
  const localSize = files.reduce((sum, f, i) => sum + 30 + names[i]!.length + f.data.length, 0);
  const centralSize = names.reduce((sum, n) => sum + 46 + n.length, 0);
  const out = new Uint8Array(localSize + centralSize + 22);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (v: number) => {
    view.setUint16(at, v, true);
    at += 2;
  };
  const u32 = (v: number) => {
    view.setUint32(at, v, true);
    at += 4;
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };

  const offsets: number[] = [];
  files.forEach((file, i) => {
    offsets.push(at);
    // Local file header (§4.3.7): signature, version needed 2.0, flags, method 0 = stored.
    u32(0x04034b50);
    u16(20);
    u16(0);
    u16(0);
    u16(time);
    u16(date);
    u32(crcs[i]!);
    u32(file.data.length);
    u32(file.data.length);
    u16(names[i]!.length);
    u16(0);
    bytes(names[i]!);
    bytes(file.data);
  });
  const centralStart = at;
  files.forEach((file, i) => {
    // Central directory header (§4.3.12): as above, plus comment, disk, attributes, local offset.
    u32(0x02014b50);
    u16(20);
    u16(20);
    u16(0);
    u16(0);
    u16(time);
    u16(date);
    u32(crcs[i]!);
    u32(file.data.length);
    u32(file.data.length);
    u16(names[i]!.length);
    u16(0);
    u16(0);
    u16(0);
    u16(0);
    u32(0);
    u32(offsets[i]!);
    bytes(names[i]!);
  });
  // End of central directory record (§4.3.16): counts, the directory's size and offset.
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(files.length);
  u16(files.length);
  u32(centralSize);
  u32(centralStart);
  u16(0);
  return out;
}
