// "=XX" escapes as RFC 2047 "Q" words and RFC 2045 quoted-printable bodies write bytes.

/** Bytes of `text` where "=XX" is the byte XX (hex) and, when `underscoreIsSpace`, "_" is a space. */
export function decodeHexEscapes(text: string, underscoreIsSpace: boolean): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(underscoreIsSpace && text[i] === "_" ? 0x20 : text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}
