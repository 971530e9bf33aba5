// RSS 2.0, RSS 1.0 (RDF) and Atom (RFC 4287) into one small shape: a title, a link and items with
// an id, a title, a link and maybe a date. Missing fields get sensible stand-ins; anything that is
// not a feed is an answer with a reason, never an exception, so one broken feed cannot make the
// bot's tick fail for every other feed.
import { parseFeedDate } from "./dates.js";
import { plainText } from "./entities.js";
import { child, findAll, findFirst, parseXml, textOf, type XmlElement } from "./xml.js";

/** One entry of a feed. */
export interface FeedItem {
  /** What identifies the item across fetches: guid/id, else the link, else title and date. */
  id: string;
  title: string;
  /** An absolute http(s) URL, or "" when the item has none. */
  link: string;
  /** Milliseconds since the epoch, when the feed gives a readable date. */
  date?: number;
}

/** A parsed feed, items newest first. */
export interface Feed {
  kind: "rss" | "rdf" | "atom";
  title: string;
  /** The site's address (absolute http(s) URL) or "". */
  link: string;
  items: FeedItem[];
}

/** A feed, or why the text is not one (a sentence for the user). */
export type FeedResult = { ok: true; feed: Feed } | { ok: false; reason: string };

/** How much of a document is read: bounded CPU and memory whatever a server sends. */
export const FEED_LIMITS = Object.freeze({
  /** Characters of the document read; a feed longer than this is read up to here (items are at the top). */
  maxChars: 1_000_000,
  /** Elements and text pieces: a 200-item feed needs ~3 000 once article bodies are skipped (rawText). */
  maxNodes: 10_000,
  maxDepth: 32,
  /** Items read per feed. */
  maxItems: 200,
  titleChars: 200,
  linkChars: 1000,
  idChars: 1000,
  /** Article bodies, kept unparsed (XmlOptions.rawText): only read when an item has no title. */
  rawText: new Set(["description", "encoded", "content", "summary"]),
});

/** Elements that hold only text in a feed: one opening while another is open means an end tag was forgotten. */
const FIELDS: ReadonlySet<string> = new Set(["title", "link", "guid", "id", "pubdate", "published", "updated", "date", "description", "summary"]);
const ITEMS: ReadonlySet<string> = new Set(["item", "entry"]);

/** Recovery from forgotten end tags: a field ends an open field; an item ends an open field or item. */
function feedAutoClose(next: string, open: string): boolean {
  if (ITEMS.has(next)) return FIELDS.has(open) || ITEMS.has(open);
  return FIELDS.has(next) && FIELDS.has(open);
}

/** `link` made absolute against `base`; "" for anything that is not http(s) (javascript:, data:, mailto: …). */
export function resolveLink(link: string, base: string): string {
  const value = link.replace(/\s+/g, "");
  if (value === "" || value.length > FEED_LIMITS.linkChars) return "";
  if (/^https?:\/\//i.test(value)) return value;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return "";
  const parts = /^(https?:)\/\/([^/?#]+)([^?#]*)/i.exec(base);
  if (!parts) return "";
  const [, scheme, host, path] = parts;
  if (value.startsWith("//")) return `${scheme}${value}`;
  if (value.startsWith("/")) return `${scheme}//${host}${value}`;
  const directory = (path ?? "").replace(/[^/]*$/, "") || "/";
  const joined = `${scheme}//${host}${directory}${value}`;
  return joined.length > FEED_LIMITS.linkChars ? "" : joined;
}

/** The element's xml:base applied to `base` (Atom feeds may set one on the feed or an entry). */
function baseOf(el: XmlElement, base: string): string {
  const own = el.attrs["xml:base"];
  if (own === undefined) return base;
  return resolveLink(own, base) || base;
}

/** The link of a channel, feed, item or entry: RSS `<link>text</link>`, else Atom `rel="alternate"`, else any href. */
function linkOf(el: XmlElement, base: string): string {
  let text = "";
  let alternate = "";
  let other = "";
  for (const node of el.children) {
    if (typeof node === "string" || node.local !== "link") continue;
    const href = node.attrs.href;
    if (href === undefined) {
      text ||= textOf(node).trim();
      continue;
    }
    const rel = (node.attrs.rel ?? "alternate").toLowerCase();
    if (rel === "alternate") alternate ||= href;
    else if (rel !== "self" && rel !== "enclosure" && rel !== "hub") other ||= href;
  }
  for (const candidate of [text, alternate, other]) {
    const link = resolveLink(candidate, base);
    if (link !== "") return link;
  }
  // RSS 2.0: a guid is a permalink unless isPermaLink="false".
  const guid = child(el, "guid");
  if (guid && guid.attrs.ispermalink !== "false") return resolveLink(textOf(guid).trim(), base);
  return "";
}

function dateOf(el: XmlElement): number | undefined {
  for (const name of ["pubdate", "published", "updated", "date", "issued", "modified"]) {
    const found = child(el, name);
    if (found) {
      const date = parseFeedDate(textOf(found));
      if (date !== undefined) return date;
    }
  }
  return undefined;
}

function itemOf(el: XmlElement, base: string): FeedItem {
  const itemBase = baseOf(el, base);
  const link = linkOf(el, itemBase);
  const date = dateOf(el);
  let title = plainText(textOf(child(el, "title")), FEED_LIMITS.titleChars);
  if (title === "") {
    const body = child(el, "description") ?? child(el, "summary") ?? child(el, "content") ?? child(el, "encoded");
    title = plainText(textOf(body, 1000), 100);
  }
  if (title === "") title = "(untitled)";
  const ownId = (textOf(child(el, "guid") ?? child(el, "id")) || el.attrs["rdf:about"] || "").trim();
  const id = (ownId || link || `${title}|${date ?? ""}`).slice(0, FEED_LIMITS.idChars);
  return { id, title, link, ...(date === undefined ? {} : { date }) };
}

/** Items newest first: by date when every item has one, else in document order (feeds list newest first). */
function newestFirst(items: FeedItem[]): FeedItem[] {
  if (items.length < 2 || items.some((item) => item.date === undefined)) return items;
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => (b.item.date ?? 0) - (a.item.date ?? 0) || a.index - b.index)
    .map(({ item }) => item);
}

/** Parse an RSS or Atom document fetched from `url` (used to resolve relative links). Never throws. */
export function parseFeed(text: string, url: string): FeedResult {
  try {
    const source = (typeof text === "string" ? text : "").slice(0, FEED_LIMITS.maxChars);
    const document = parseXml(source, FEED_LIMITS, feedAutoClose);
    const root = findFirst(document, () => true);
    if (!root) return { ok: false, reason: "the answer is empty or not XML" };
    const kind = root.local === "rss" ? "rss" : root.local === "rdf" ? "rdf" : root.local === "feed" ? "atom" : undefined;
    if (kind === undefined) {
      if (root.local === "html" || /^\s*<!doctype html/i.test(source)) {
        return { ok: false, reason: "it is a web page, not a feed (look on the page for its RSS or Atom link)" };
      }
      return { ok: false, reason: `it is not an RSS or Atom feed (its first element is <${root.name.slice(0, 40)}>)` };
    }
    const base = baseOf(root, url);
    // RSS 2.0 puts items in <channel>; RSS 1.0 beside it; Atom entries are children of <feed>.
    const channel = kind === "atom" ? root : (child(root, "channel") ?? root);
    const items = findAll(root, (el) => el.local === (kind === "atom" ? "entry" : "item"), FEED_LIMITS.maxItems).map((el) => itemOf(el, base));
    const title = plainText(textOf(child(channel, "title")), FEED_LIMITS.titleChars);
    return { ok: true, feed: { kind, title, link: linkOf(channel, base), items: newestFirst(items) } };
  } catch (error) {
    // The reader is written not to throw; this keeps a bug in it from failing the whole event.
    return { ok: false, reason: `it could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
}
