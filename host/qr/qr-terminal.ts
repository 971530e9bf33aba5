// A QR code for a terminal: two module rows per text line with half-block characters, dark
// modules drawn as the terminal's background so it scans on dark and light themes alike.
import type { QrMatrix } from "./qr-matrix.js";

/** Modules of quiet zone around the code; the standard asks for 4. */
const QUIET = 4;

/** Render the matrix as lines of "█", "▀", "▄" and spaces (light modules are printed). */
export function qrToTerminal(matrix: QrMatrix): string {
  const size = matrix.length + 2 * QUIET;
  const dark = (row: number, col: number) => matrix[row - QUIET]?.[col - QUIET] ?? false;
  const lines: string[] = [];
  for (let row = 0; row < size; row += 2) {
    let line = "";
    for (let col = 0; col < size; col++) {
      const top = !dark(row, col);
      const bottom = row + 1 < size ? !dark(row + 1, col) : false;
      line += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    lines.push(line);
  }
  return `${lines.join("\n")}\n`;
}
