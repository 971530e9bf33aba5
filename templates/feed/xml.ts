// A forgiving XML reader for feeds. QuickJS has no DOMParser, and real feeds are often not
// well-formed (stray `&` and `<`, unclosed tags, HTML pasted into titles), so this never throws on
// bad input: it reads what it can, in one linear pass, and builds a small tree. Comments,
// processing instructions and the DOCTYPE are skipped (no entity definitions are expanded, so no
// entity bombs); CDATA sections are text as written.
//
// It runs inside the sandbox's CPU budget (1 s per event, for every feed of a tick), so the work
// per character is done by the regex engine and indexOf (C code), not by a JavaScript loop over
// characters; text is kept as written and entities are decoded only in the few fields read
// (textOf); the number of nodes and the depth are capped.
import { decodeEntities } from "./entities.js";

/** An element: names are lower-cased because feeds disagree about case (`pubDate`, `pubdate`). */
export interface XmlElement {
  /** The qualified name, e.g. "item", "atom:link", "content:encoded"; "#cdata" for a CDATA section. */
  name: string;
  /** The name without its prefix: "link" for "atom:link". */
  local: string;
  /** Attributes by lower-cased qualified name, values decoded. */
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Content as written, unparsed: a CDATA section's text, or a raw-text element's (XmlOptions.rawText) content. */
  raw?: string;
}

/** A child: an element, or text as written (entities not yet decoded; textOf decodes). */
export type XmlNode = XmlElement | string;

/** How much of a document is read, and how. */
export interface XmlOptions {
  /** Elements and text pieces read; the document is treated as ending after this many. */
  maxNodes: number;
  /** Elements nested deeper than this are read as empty; their text goes to the closest kept parent. */
  maxDepth: number;
  /**
   * Local names of elements whose content is kept as written (`raw`) instead of parsed, like
   * HTML's <script>: a feed's descriptions hold whole articles of HTML that are rarely needed,
   * and skipping them to their end tag with one indexOf costs next to nothing.
   */
  rawText?: ReadonlySet<string>;
}

/**
 * Whether opening an element named `next` ends the open element `open` first (local names): how a
 * reader recovers from a forgotten end tag, as HTML parsers do for `<p>` (e.g. `<title>x<link>`).
 */
export type AutoClose = (next: string, open: string) => boolean;

/** Where markup may start: `<` and a name, `/`, `!` or `?`. A `<` followed by anything else is text. */
const MARKUP = /<[A-Za-z_/!?]/g;
const NAME_AT = /[A-Za-z_][A-Za-z0-9_.:-]{0,199}/y;
const TAG_TAIL = /[^"'<>]*>/y;
const ATTRIBUTE = /([^\s=/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
const NOT_BLANK = /\S/;
const INDENTATION = /^\s*\n\s*$/;

/** `A`-`Z`, `a`-`z`, `_`, `/`, `!`, `?`: what may follow a `<` that starts markup (as MARKUP). */
function isMarkupStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 47 || code === 33 || code === 63;
}

function element(name: string, attrs: Record<string, string>): XmlElement {
  const lower = name.toLowerCase();
  const colon = lower.lastIndexOf(":");
  return { name: lower, local: colon < 0 ? lower : lower.slice(colon + 1), attrs, children: [] };
}

/**
 * The index just past the `>` that ends a tag whose name ends at `from`, skipping quoted values;
 * at a `<` inside the tag (it was never closed) the index of that `<`; -1 at the end of the text.
 */
function tagEnd(source: string, from: number): number {
  // The usual tag: a `>` before any quote or `<`. The regex stops at the first of them, so a
  // document of many unclosed tags costs linear time, not a scan to the far `>` for each.
  TAG_TAIL.lastIndex = from;
  if (TAG_TAIL.test(source)) return TAG_TAIL.lastIndex;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (c === '"' || c === "'") {
      // Jump to the closing quote in C rather than walk to it.
      const close = source.indexOf(c, i + 1);
      if (close < 0) return -1;
      i = close;
    } else if (c === ">") {
      return i + 1;
    } else if (c === "<") {
      return i;
    }
  }
  return -1;
}

/** The end of a `<!…>` declaration (a DOCTYPE may hold an internal subset in brackets); -1 if none. */
function declarationEnd(source: string, from: number): number {
  const gt = source.indexOf(">", from);
  const bracket = source.indexOf("[", from);
  if (gt < 0) return -1;
  if (bracket < 0 || bracket > gt) return gt + 1;
  // An internal subset: up to "]" and then ">".
  const close = source.indexOf("]", bracket);
  if (close < 0) return -1;
  const end = source.indexOf(">", close);
  return end < 0 ? -1 : end + 1;
}

function parseAttributes(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (text.length === 0 || !NOT_BLANK.test(text)) return attrs;
  ATTRIBUTE.lastIndex = 0;
  for (let match = ATTRIBUTE.exec(text); match !== null; match = ATTRIBUTE.exec(text)) {
    const name = (match[1] ?? "").toLowerCase();
    if (name === "" || name in attrs) continue;
    attrs[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
  }
  return attrs;
}

/** Read `source` into a tree under a synthetic root named "#document". Never throws on bad input. */
export function parseXml(source: string, options: XmlOptions, autoClose: AutoClose = () => false): XmlElement {
  const root = element("#document", {});
  const stack: XmlElement[] = [root];
  let nodes = 0;
  /** Where unread text starts; it runs up to the next markup. */
  let textFrom = 0;
  let i = 0;
  const top = (): XmlElement => stack[stack.length - 1] ?? root;
  const add = (node: XmlNode): boolean => {
    top().children.push(node);
    return ++nodes <= options.maxNodes;
  };
  const flushText = (to: number): boolean => {
    if (to <= textFrom) return true;
    const text = source.slice(textFrom, to);
    // Indentation between tags (blank with a line break) says nothing; a blank between inline
    // elements ("<b>a</b> <i>b</i>") is kept.
    return INDENTATION.test(text) ? true : add(text);
  };

  for (;;) {
    // indexOf finds the next `<` without allocating; the regex only skips runs of stray `<`.
    let lt = source.indexOf("<", i);
    if (lt >= 0 && !isMarkupStart(source.charCodeAt(lt + 1))) {
      MARKUP.lastIndex = lt;
      lt = MARKUP.exec(source)?.index ?? -1;
    }
    if (lt < 0) {
      flushText(source.length);
      break;
    }
    const next = source[lt + 1];
    let end: number;
    if (next === "!" || next === "?") {
      if (!flushText(lt)) break;
      if (source.startsWith("<![CDATA[", lt)) {
        const close = source.indexOf("]]>", lt + 9);
        const cdata = element("#cdata", {});
        cdata.raw = source.slice(lt + 9, close < 0 ? source.length : close);
        if (!add(cdata)) break;
        end = close < 0 ? source.length : close + 3;
      } else if (source.startsWith("<!--", lt)) {
        const close = source.indexOf("-->", lt + 4);
        end = close < 0 ? source.length : close + 3;
      } else if (next === "?") {
        const close = source.indexOf("?>", lt + 2);
        end = close < 0 ? source.length : close + 2;
      } else {
        const close = declarationEnd(source, lt + 2);
        end = close < 0 ? source.length : close;
      }
      i = textFrom = end;
      continue;
    }

    const closing = next === "/";
    const nameStart = closing ? lt + 2 : lt + 1;
    NAME_AT.lastIndex = nameStart;
    const name = NAME_AT.test(source) ? source.slice(nameStart, NAME_AT.lastIndex) : undefined;
    if (name === undefined) {
      // "</" and no name: text, like a stray "<".
      i = lt + 1;
      continue;
    }
    if (!flushText(lt)) break;
    end = tagEnd(source, nameStart + name.length);
    if (end < 0) break; // an unterminated tag at the very end: nothing more to read
    i = textFrom = end;

    if (closing) {
      // Close the nearest open element of that name; an end tag nothing opened is ignored.
      const lower = name.toLowerCase();
      for (let depth = stack.length - 1; depth > 0; depth--) {
        if (stack[depth]?.name === lower) {
          stack.length = depth;
          break;
        }
      }
      continue;
    }

    const inner = source.slice(nameStart + name.length, source[end - 1] === ">" ? end - 1 : end);
    const selfClosing = inner.endsWith("/");
    const node = element(name, parseAttributes(selfClosing ? inner.slice(0, -1) : inner));
    while (stack.length > 1 && autoClose(node.local, top().local)) stack.pop();
    if (!add(node)) break;
    if (selfClosing) continue;
    if (options.rawText?.has(node.local)) {
      // Up to the end tag as written (or in lower case); without one, the rest of the document.
      let close = source.indexOf(`</${name}`, end);
      if (close < 0 && name !== node.name) close = source.indexOf(`</${node.name}`, end);
      node.raw = source.slice(end, close < 0 ? source.length : close);
      if (close < 0) break;
      const after = source.indexOf(">", close);
      i = textFrom = after < 0 ? source.length : after + 1;
      continue;
    }
    if (stack.length <= options.maxDepth) stack.push(node);
  }
  return root;
}

/** Every element below `from` (depth first, document order) for which `take` is true, not looking inside taken ones; at most `max`. */
export function findAll(from: XmlElement, take: (el: XmlElement) => boolean, max: number): XmlElement[] {
  const found: XmlElement[] = [];
  // An explicit stack instead of recursion: the depth is capped, but the guest stack is small.
  const pending: XmlNode[] = [...from.children].reverse();
  while (pending.length > 0 && found.length < max) {
    const node = pending.pop();
    if (node === undefined || typeof node === "string" || node.name === "#cdata") continue;
    if (take(node)) {
      found.push(node);
      continue;
    }
    for (let k = node.children.length - 1; k >= 0; k--) pending.push(node.children[k] as XmlNode);
  }
  return found;
}

/** The first element below `from` for which `take` is true, or undefined. */
export function findFirst(from: XmlElement, take: (el: XmlElement) => boolean): XmlElement | undefined {
  return findAll(from, take, 1)[0];
}

/** A direct child by local name; an unprefixed `name` wins over a prefixed one (`title` over `media:title`). */
export function child(parent: XmlElement, local: string): XmlElement | undefined {
  let prefixed: XmlElement | undefined;
  for (const node of parent.children) {
    if (typeof node === "string" || node.local !== local) continue;
    if (node.name === local) return node;
    prefixed ??= node;
  }
  return prefixed;
}

/** Text as written with its CDATA sections taken as they are and entities decoded elsewhere. */
export function rawText(raw: string): string {
  const parts: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const start = raw.indexOf("<![CDATA[", i);
    if (start < 0) {
      parts.push(decodeEntities(raw.slice(i)));
      break;
    }
    parts.push(decodeEntities(raw.slice(i, start)));
    const end = raw.indexOf("]]>", start + 9);
    parts.push(raw.slice(start + 9, end < 0 ? raw.length : end));
    i = end < 0 ? raw.length : end + 3;
  }
  return parts.join("");
}

/**
 * The text below an element in document order, entities decoded, CDATA as written; markup inside
 * a raw-text element is left in (callers that show text use plainText). Reads at most about
 * `maxChars` of the document, so a megabyte-long "title" costs no more than a short one.
 */
export function textOf(el: XmlElement | undefined, maxChars = 20_000): string {
  if (!el) return "";
  const parts: string[] = [];
  let budget = maxChars;
  const pending: XmlNode[] = [el];
  while (pending.length > 0 && budget > 0) {
    const node = pending.pop();
    if (node === undefined) continue;
    if (typeof node === "string") {
      const piece = node.length > budget ? node.slice(0, budget) : node;
      budget -= piece.length;
      parts.push(decodeEntities(piece));
      continue;
    }
    if (node.raw !== undefined) {
      const piece = node.raw.length > budget ? node.raw.slice(0, budget) : node.raw;
      budget -= piece.length;
      parts.push(node.name === "#cdata" ? piece : rawText(piece));
    }
    for (let k = node.children.length - 1; k >= 0; k--) pending.push(node.children[k] as XmlNode);
  }
  return parts.join("");
}
