// A QR code as a matrix of dark modules, from qrcode-generator (no dependencies of its own).
import qrcode from "qrcode-generator";

/** Dark (true) and light modules, row by row, without the quiet zone. */
export type QrMatrix = boolean[][];

/** Encode `text` (UTF-8, byte mode) with error correction level M, the smallest version that fits. */
export function qrMatrix(text: string): QrMatrix {
  const qr = qrcode(0, "M");
  qr.addData(Buffer.from(text, "utf8").toString("latin1"), "Byte");
  qr.make();
  const size = qr.getModuleCount();
  return Array.from({ length: size }, (_, row) => Array.from({ length: size }, (_, col) => qr.isDark(row, col)));
}
