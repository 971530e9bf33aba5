import { inflateSync, crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { qrMatrix } from "../../../host/qr/qr-matrix.js";
import { qrToPng } from "../../../host/qr/qr-png.js";
import { qrToTerminal } from "../../../host/qr/qr-terminal.js";

const LINK = "https://i.delta.chat/#B3916FD83038EF38AA1F6CDBAB0B0F8A8BD6C411&v=3&i=a0_zojjVdSWuq8M83CuCOGuB&s=GF4aBh76vr5FV99N2gaAKOyp&a=bob%40chat.test&n=Bob";

/** A 7×7 finder pattern with its top-left corner at (row, col). */
function hasFinder(matrix: boolean[][], row: number, col: number): boolean {
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 7; c++) {
      const ring = r === 0 || r === 6 || c === 0 || c === 6;
      const core = r >= 2 && r <= 4 && c >= 2 && c <= 4;
      if (matrix[row + r]![col + c] !== (ring || core)) return false;
    }
  }
  return true;
}

describe("QR code", () => {
  const matrix = qrMatrix(LINK);

  it("an invite link encodes into a square QR matrix with the three finder patterns", () => {
    expect(matrix.length).toBeGreaterThanOrEqual(21);
    expect((matrix.length - 17) % 4).toBe(0);
    expect(matrix.every((row) => row.length === matrix.length)).toBe(true);
    const end = matrix.length - 7;
    expect(hasFinder(matrix, 0, 0) && hasFinder(matrix, 0, end) && hasFinder(matrix, end, 0)).toBe(true);
  });

  it("the terminal rendering uses two module rows per line plus a 4-module quiet zone", () => {
    const lines = qrToTerminal(matrix).trimEnd().split("\n");
    expect(lines).toHaveLength(Math.ceil((matrix.length + 8) / 2));
    expect(lines.every((line) => [...line].length === matrix.length + 8)).toBe(true);
    expect(lines[0]).toMatch(/^█+$/);
  });

  it("the PNG is a valid grayscale image whose pixels are the modules", () => {
    const png = qrToPng(matrix, 4);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // Walk the chunks and check every CRC.
    let offset = 8;
    const chunks: Record<string, Buffer> = {};
    while (offset < png.length) {
      const length = png.readUInt32BE(offset);
      const type = png.subarray(offset + 4, offset + 8).toString("latin1");
      const data = png.subarray(offset + 8, offset + 8 + length);
      expect(png.readUInt32BE(offset + 8 + length)).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0);
      chunks[type] = data;
      offset += 12 + length;
    }
    const side = (matrix.length + 8) * 4;
    expect(chunks.IHDR!.readUInt32BE(0)).toBe(side);
    expect(chunks.IHDR![9]).toBe(0);
    const raw = inflateSync(chunks.IDAT!);
    expect(raw.length).toBe(side * (side + 1));
    // The pixel at the centre of module (0,0) is dark, one in the quiet zone is light.
    const pixel = (x: number, y: number) => raw[y * (side + 1) + 1 + x];
    expect(pixel(4 * 4 + 2, 4 * 4 + 2)).toBe(0);
    expect(pixel(1, 1)).toBe(255);
    expect(chunks).toHaveProperty("IEND");
  });
});
