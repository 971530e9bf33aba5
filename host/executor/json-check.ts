// Checks that guest text is JSON without building it. JSON.parse on the host costs far more than the
// text's length for hostile shapes (V8 here: ~0.6 µs per nesting level, so 1 MiB of "[" nested
// 512 Ki deep took ~0.4 s), and the host's work for the guest is the guest's CPU. This check is one
// pass over the text with no allocation per value: linear in its length, whatever the shape.

/** Why a text is not accepted: not JSON (RFC 8259), or nested deeper than allowed. */
export type JsonCheck = "ok" | "syntax" | "depth";

// Character codes the grammar names (RFC 8259 §2).
const TAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SPACE = 0x20,
  QUOTE = 0x22,
  PLUS = 0x2b,
  COMMA = 0x2c,
  MINUS = 0x2d,
  DOT = 0x2e;
const ZERO = 0x30,
  NINE = 0x39,
  COLON = 0x3a,
  OPEN_ARRAY = 0x5b,
  BACKSLASH = 0x5c,
  CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b,
  CLOSE_OBJECT = 0x7d,
  LOWER_U = 0x75,
  LOWER_E = 0x65,
  UPPER_E = 0x45;
/** The characters after a backslash other than "u" (RFC 8259 §7). */
const SIMPLE_ESCAPES: ReadonlySet<number> = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const LITERALS = ["true", "false", "null"] as const;

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Index after the whitespace at `i`. */
function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return i;
    i++;
  }
}

/** Index after the string starting at `i` (a quote), or -1. */
function skipString(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  for (i++; ; i++) {
    const c = text.charCodeAt(i); // NaN past the end: fails every test below
    if (c === QUOTE) return i + 1;
    if (!(c >= SPACE)) return -1; // control characters and the end of the text
    if (c !== BACKSLASH) continue;
    const e = text.charCodeAt(++i);
    if (e === LOWER_U) {
      if (!(isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3)) && isHex(text.charCodeAt(i + 4)))) return -1;
      i += 4;
    } else if (!SIMPLE_ESCAPES.has(e)) {
      return -1;
    }
  }
}

/** Index after the digits at `i`; -1 when there is none. */
function skipDigits(text: string, i: number): number {
  const start = i;
  while (isDigit(text.charCodeAt(i))) i++;
  return i === start ? -1 : i;
}

/** Index after the number starting at `i`, or -1 (RFC 8259 §6: no leading zeros, no "+", no ".5"). */
function skipNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === MINUS) i++;
  if (text.charCodeAt(i) === ZERO) i++;
  else if ((i = skipDigits(text, i)) < 0) return -1;
  if (text.charCodeAt(i) === DOT && (i = skipDigits(text, i + 1)) < 0) return -1;
  const e = text.charCodeAt(i);
  if (e === LOWER_E || e === UPPER_E) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    if ((i = skipDigits(text, i)) < 0) return -1;
  }
  return i;
}

/** Index after the scalar (string, number, true, false, null) at `i`, or -1. */
function skipScalar(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipString(text, i);
  if (c === MINUS || isDigit(c)) return skipNumber(text, i);
  for (const word of LITERALS) if (text.startsWith(word, i)) return i + word.length;
  return -1;
}

/** Index after `"key" :` at `i` (whitespace around the colon allowed), or -1. */
function skipKey(text: string, i: number): number {
  i = skipString(text, skipSpace(text, i));
  if (i < 0) return -1;
  i = skipSpace(text, i);
  return text.charCodeAt(i) === COLON ? i + 1 : -1;
}

/**
 * Whether `text` is exactly one JSON value (RFC 8259, as JSON.parse accepts it) nested at most
 * `maxDepth` arrays/objects deep. One pass; memory is one array slot per open container.
 */
export function checkJsonText(text: string, maxDepth: number): JsonCheck {
  // The closing character of each open container, innermost last.
  const open: number[] = [];
  let i = 0;
  for (;;) {
    // A value starts at i.
    i = skipSpace(text, i);
    const c = text.charCodeAt(i);
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (open.length + 1 > maxDepth) return "depth";
      const close = c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === close) {
        i++;
      } else {
        open.push(close);
        if (close === CLOSE_OBJECT && (i = skipKey(text, i)) < 0) return "syntax";
        continue;
      }
    } else if ((i = skipScalar(text, i)) < 0) {
      return "syntax";
    }
    // A value ended at i: close containers until a comma starts the next value.
    for (;;) {
      i = skipSpace(text, i);
      const close = open[open.length - 1];
      if (close === undefined) return i === text.length ? "ok" : "syntax";
      const next = text.charCodeAt(i);
      if (next === close) {
        open.pop();
        i++;
        continue;
      }
      if (next !== COMMA) return "syntax";
      i++;
      if (close === CLOSE_OBJECT && (i = skipKey(text, i)) < 0) return "syntax";
      break;
    }
  }
}
