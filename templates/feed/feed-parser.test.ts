// The feed reader on its own (in Node, fast): RSS 2.0, RSS 1.0, Atom, sloppy feeds and garbage.
// bot.test.ts runs the same code inside the sandbox through the bot's commands.
import { describe, expect, it } from "vitest";
import { parseFeedDate } from "./dates.js";
import { plainText } from "./entities.js";
import { FEED_LIMITS, parseFeed, resolveLink, type Feed } from "./feed-parser.js";

const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <item> in it is not an item -->
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example &amp; Co</title>
  <link>https://example.org/</link>
  <atom:link href="https://example.org/feed.xml" rel="self" type="application/rss+xml"/>
  <item>
    <title><![CDATA[Third <b>post</b> & more]]></title>
    <link>https://example.org/3</link>
    <guid isPermaLink="false">post-3</guid>
    <pubDate>Wed, 01 Jan 2025 09:00:00 GMT</pubDate>
  </item>
  <item>
    <title>Second &#8211; caf&#xE9; &eacute;t&eacute;</title>
    <guid>https://example.org/2</guid>
    <dc:date>2024-12-31T10:00:00+01:00</dc:date>
  </item>
  <item>
    <description>&lt;p&gt;Only a description, &lt;em&gt;no title&lt;/em&gt;&lt;/p&gt;</description>
    <link> /relative/1 </link>
  </item>
</channel>
</rss>`;

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.net/posts/">
  <title type="html">A &lt;em&gt;blog&lt;/em&gt;</title>
  <link href="https://blog.example.net/" />
  <link rel="self" href="https://blog.example.net/atom.xml" />
  <id>urn:uuid:feed</id>
  <entry>
    <title>Older</title>
    <link rel="alternate" type="text/html" href="older.html"/>
    <id>tag:blog.example.net,2025:older</id>
    <updated>2025-01-01T08:00:00Z</updated>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Newer <b>one</b></div></title>
    <link rel="edit" href="/edit/2"/>
    <link rel="alternate" href="//cdn.example.net/newer"/>
    <id>tag:blog.example.net,2025:newer</id>
    <published>2025-01-02T08:00:00.123+00:00</published>
  </entry>
</feed>`;

const RDF = `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="https://rdf.example.org/"><title>RDF news</title><link>https://rdf.example.org/</link></channel>
  <item rdf:about="https://rdf.example.org/a"><title>A</title><link>https://rdf.example.org/a</link></item>
</rdf:RDF>`;

function feedOf(text: string, url = "https://example.org/feed.xml"): Feed {
  const result = parseFeed(text, url);
  if (!result.ok) throw new Error(`not a feed: ${result.reason}`);
  return result.feed;
}

describe("feed parser: RSS 2.0", () => {
  const feed = feedOf(RSS);

  it("reads the channel's title (entities decoded) and link", () => {
    expect(feed).toMatchObject({ kind: "rss", title: "Example & Co", link: "https://example.org/" });
  });

  it("reads CDATA titles as text without their HTML tags, and character references", () => {
    expect(feed.items.map((item) => item.title)).toEqual(["Third post & more", "Second – café été", "Only a description, no title"]);
  });

  it("takes the guid as id, a permalink guid as link, and resolves a relative link against the feed URL", () => {
    expect(feed.items.map((item) => [item.id, item.link])).toEqual([
      ["post-3", "https://example.org/3"],
      ["https://example.org/2", "https://example.org/2"],
      ["https://example.org/relative/1", "https://example.org/relative/1"],
    ]);
  });

  it("keeps document order when not every item has a date", () => {
    expect(feed.items[0]?.date).toBe(Date.UTC(2025, 0, 1, 9));
    expect(feed.items[1]?.date).toBe(Date.UTC(2024, 11, 31, 9));
    expect(feed.items[2]?.date).toBeUndefined();
  });
});

describe("feed parser: Atom", () => {
  const feed = feedOf(ATOM, "https://blog.example.net/atom.xml");

  it("reads an html title as text and the alternate link, not the self link", () => {
    expect(feed).toMatchObject({ kind: "atom", title: "A blog", link: "https://blog.example.net/" });
  });

  it("sorts entries newest first by date, reads xhtml titles and prefers rel=alternate", () => {
    expect(feed.items).toEqual([
      { id: "tag:blog.example.net,2025:newer", title: "Newer one", link: "https://cdn.example.net/newer", date: Date.UTC(2025, 0, 2, 8, 0, 0) },
      { id: "tag:blog.example.net,2025:older", title: "Older", link: "https://blog.example.net/posts/older.html", date: Date.UTC(2025, 0, 1, 8) },
    ]);
  });
});

describe("feed parser: RSS 1.0 (RDF)", () => {
  it("reads items that sit beside the channel", () => {
    const feed = feedOf(RDF);
    expect(feed).toMatchObject({ kind: "rdf", title: "RDF news", items: [{ id: "https://rdf.example.org/a", title: "A", link: "https://rdf.example.org/a" }] });
  });
});

describe("feed parser: sloppy feeds", () => {
  it("survives a stray &, a bare <, unclosed tags and an end tag nothing opened", () => {
    const feed = feedOf(`<rss><channel><title>Tom & Jerry < Friends</title></bogus>
      <item><title>One<link>https://x.example/1</link></item>
      <item><title>Two</title><link>https://x.example/2</link>
      <item><title>Three</title>`);
    expect(feed.title).toBe("Tom & Jerry < Friends");
    expect(feed.items.map((item) => item.link)).toEqual(["https://x.example/1", "https://x.example/2", ""]);
    expect(feed.items.map((item) => item.title)).toEqual(["One", "Two", "Three"]);
  });

  it("gives items without title, link or id stand-ins that still tell them apart", () => {
    const feed = feedOf(`<rss><channel><item></item><item><pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate></item></channel></rss>`);
    expect(feed.items.map((item) => item.title)).toEqual(["(untitled)", "(untitled)"]);
    expect(feed.items[0]?.id).not.toBe(feed.items[1]?.id);
    expect(feed.items[1]?.date).toBe(Date.UTC(2003, 5, 10, 2));
  });

  it("never offers a javascript: or data: link", () => {
    const feed = feedOf(`<rss><channel><item><title>x</title><link>javascript:alert(1)</link></item></channel></rss>`);
    expect(feed.items[0]?.link).toBe("");
  });

  it("skips a DOCTYPE with an internal subset and does not expand its entities", () => {
    const feed = feedOf(
      `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>`,
    );
    expect(feed.title).toBe("&b;");
  });

  it("keeps at most FEED_LIMITS.maxItems items", () => {
    const items = Array.from({ length: FEED_LIMITS.maxItems + 50 }, (_, i) => `<item><guid>${i}</guid></item>`).join("");
    expect(feedOf(`<rss><channel>${items}</channel></rss>`).items).toHaveLength(FEED_LIMITS.maxItems);
  });
});

describe("feed parser: garbage", () => {
  it("says an HTML page is a web page, not a feed", () => {
    expect(parseFeed("<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</body></html>", "https://x.example/")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("web page"),
    });
  });

  it("answers with a reason, never an exception, for junk of every kind", () => {
    const junk = [
      "",
      "   ",
      "just text",
      '{"json": true}',
      "<",
      "<<<<>>>>",
      "<rss",
      "<rss><channel><item><title><![CDATA[never closed",
      "<rss><!-- never closed",
      "<!DOCTYPE rss [ never closed",
      "<?xml never closed",
      `<rss a="never closed><channel>`,
      "\u0000\uffff\ud800<rss>\u0000</rss>",
      "<a>".repeat(10_000),
      "<item>".repeat(100_000),
    ];
    for (const text of junk) {
      const result = parseFeed(text, "https://x.example/feed");
      expect(typeof result.ok).toBe("boolean");
    }
    expect(parseFeed('{"json": true}', "https://x.example/")).toMatchObject({ ok: false });
  });

  it("reads a deeply nested document without recursion", () => {
    const deep = `<rss><channel>${"<x>".repeat(50_000)}<item><title>deep</title></item></channel></rss>`;
    expect(parseFeed(deep, "https://x.example/").ok).toBe(true);
  });

  it("reads random bytes without throwing", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = `<>/!?[]-&#;"'= abcitemrsschanneltitleCDATA\n`;
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: 400 }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      expect(() => parseFeed(`<rss><channel>${text}`, "https://x.example/")).not.toThrow();
    }
  });
});

describe("feed parser: helpers", () => {
  it("reads RFC 822 and RFC 3339 dates, and rejects nonsense", () => {
    expect(parseFeedDate("Mon, 06 Jan 2025 09:30:00 GMT")).toBe(Date.UTC(2025, 0, 6, 9, 30));
    expect(parseFeedDate("6 Jan 25 09:30 EST")).toBe(Date.UTC(2025, 0, 6, 14, 30));
    expect(parseFeedDate("2025-01-06T09:30:00-05:30")).toBe(Date.UTC(2025, 0, 6, 15, 0));
    expect(parseFeedDate("2025-01-06")).toBe(Date.UTC(2025, 0, 6));
    expect(parseFeedDate("yesterday")).toBeUndefined();
    expect(parseFeedDate("Mon, 06 Foo 2025 09:30:00 GMT")).toBeUndefined();
  });

  it("resolves relative links and refuses other schemes", () => {
    expect(resolveLink("a/b", "https://x.example/dir/feed.xml")).toBe("https://x.example/dir/a/b");
    expect(resolveLink("/a", "https://x.example/dir/feed.xml")).toBe("https://x.example/a");
    expect(resolveLink("//y.example/a", "https://x.example/")).toBe("https://y.example/a");
    expect(resolveLink("mailto:a@b", "https://x.example/")).toBe("");
    expect(resolveLink("a", "not a url")).toBe("");
  });

  it("shortens long text with an ellipsis and keeps 'a < b' that is not a tag", () => {
    expect(plainText("x".repeat(300), 10)).toBe(`${"x".repeat(9)}…`);
    expect(plainText("a < b and c > d", 100)).toBe("a < b and c > d");
  });
});
