// A QR code as a PNG file: 8-bit grayscale, `scale` pixels per module, with a quiet zone.
// Written by hand (signature, IHDR, IDAT, IEND; CRC-32 and deflate from node:zlib).
import { crc32, deflateSync } from "node:zlib";
import type { QrMatrix } from "./qr-matrix.js";

const QUIET = 4;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed) >>> 0);
  return Buffer.concat([length, typed, crc]);
}

/** PNG bytes of the matrix, `scale` pixels per module (default 8). */
export function qrToPng(matrix: QrMatrix, scale = 8): Buffer {
  const modules = matrix.length + 2 * QUIET;
  const pixels = modules * scale;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(pixels, 0);
  header.writeUInt32BE(pixels, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  // compression, filter and interlace methods stay 0
  const raw = Buffer.alloc(pixels * (pixels + 1));
  for (let y = 0; y < pixels; y++) {
    const rowStart = y * (pixels + 1); // first byte of each row: filter type 0
    const moduleRow = Math.floor(y / scale) - QUIET;
    for (let x = 0; x < pixels; x++) {
      const moduleCol = Math.floor(x / scale) - QUIET;
      raw[rowStart + 1 + x] = matrix[moduleRow]?.[moduleCol] ? 0 : 255;
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
