// Character references and entities (XML 1.0 §4.1, plus the HTML names feeds commonly use).
// Feeds are written by hand, by CMSs and by scripts: a title may be XML-escaped once, or carry
// HTML that was escaped a second time, so callers decode once for XML and once more for HTML.

/** Named entities: the five of XML and the HTML ones that show up in feed titles. */
const NAMED: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  ndash: "\u2013",
  mdash: "\u2014",
  hellip: "\u2026",
  bull: "\u2022",
  middot: "\u00b7",
  lsquo: "\u2018",
  rsquo: "\u2019",
  sbquo: "\u201a",
  ldquo: "\u201c",
  rdquo: "\u201d",
  bdquo: "\u201e",
  laquo: "\u00ab",
  raquo: "\u00bb",
  lsaquo: "\u2039",
  rsaquo: "\u203a",
  copy: "\u00a9",
  reg: "\u00ae",
  trade: "\u2122",
  euro: "\u20ac",
  pound: "\u00a3",
  yen: "\u00a5",
  cent: "\u00a2",
  deg: "\u00b0",
  times: "\u00d7",
  divide: "\u00f7",
  plusmn: "\u00b1",
  para: "\u00b6",
  sect: "\u00a7",
  auml: "\u00e4",
  ouml: "\u00f6",
  uuml: "\u00fc",
  Auml: "\u00c4",
  Ouml: "\u00d6",
  Uuml: "\u00dc",
  szlig: "\u00df",
  eacute: "\u00e9",
  egrave: "\u00e8",
  ecirc: "\u00ea",
  aacute: "\u00e1",
  agrave: "\u00e0",
  acirc: "\u00e2",
  iacute: "\u00ed",
  oacute: "\u00f3",
  uacute: "\u00fa",
  ccedil: "\u00e7",
  ntilde: "\u00f1",
  oslash: "\u00f8",
  aring: "\u00e5",
  Eacute: "\u00c9",
  iexcl: "\u00a1",
  iquest: "\u00bf",
  shy: "",
  zwnj: "\u200c",
  zwj: "\u200d",
  thinsp: "\u2009",
  ensp: "\u2002",
  emsp: "\u2003",
};

const REFERENCE = /&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[A-Za-z][A-Za-z0-9]{1,31});/g;

/** A code point as a string; U+FFFD for NUL, surrogates and values past U+10FFFF. */
function codePoint(value: number): string {
  if (!Number.isFinite(value) || value <= 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return "\ufffd";
  return String.fromCodePoint(value);
}

/** Replace character references and known entities; unknown `&name;` and lone `&` stay as written. */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(REFERENCE, (whole, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#X")) return codePoint(parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return codePoint(parseInt(body.slice(1), 10));
    const named = NAMED[body];
    return named === undefined ? whole : named;
  });
}

/**
 * Feed text as a person should read it: HTML tags removed, entities decoded a second time (for
 * titles that were HTML before they were escaped for XML), whitespace collapsed, at most `maxChars`.
 */
export function plainText(text: string, maxChars: number): string {
  // Enough input for any title; a megabyte of "title" is not read to the end.
  let result = text.length > maxChars * 20 ? text.slice(0, maxChars * 20) : text;
  if (result.includes("<")) result = result.replace(/<\/?[A-Za-z][^<>]{0,2000}>/g, " ");
  result = decodeEntities(result)
    .replace(/[\s\u00a0]+/g, " ")
    .trim();
  if (result.length > maxChars) result = `${result.slice(0, Math.max(0, maxChars - 1)).trimEnd()}\u2026`;
  return result;
}
