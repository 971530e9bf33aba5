// The lmtp_connection_cache_destinations entry `host setup` and the README's recipe give Postfix
// (host/setup/lmtp-cache.ts). That Postfix really reuses its connections with it is shown against
// the test relay in test/e2e/host-ingress.test.ts.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_LMTP_SOCKET } from "../../../host/service/paths.js";
import { transportNexthop } from "../../../host/service/transport-map.js";
import { cacheListsEntry, lmtpCacheEntry } from "../../../host/setup/lmtp-cache.js";
import { listEntries } from "../../../host/service/postfix-list.js";

describe("lmtpCacheEntry", () => {
  it("names the default socket as Postfix does (relative to its queue directory), as the README's recipe writes it", () => {
    const entry = lmtpCacheEntry(transportNexthop({ lmtpSocket: DEFAULT_LMTP_SOCKET, transportNexthop: undefined }));
    expect(entry).toBe("inline:{chatbot/lmtp.sock=yes}");
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    expect(readme).toContain(`postconf -e 'lmtp_connection_cache_destinations = ${entry}' && postfix reload`);
  });

  it("lower-cases the key, because Postfix looks the path up lower-cased and an inline table keeps its keys as written", () => {
    expect(lmtpCacheEntry("lmtp:unix:/run/Chatbot/LMTP.sock")).toBe("inline:{/run/chatbot/lmtp.sock=yes}");
  });

  it("has no entry for a next hop that is not a unix-socket LMTP one, or a path an inline table cannot name", () => {
    expect(lmtpCacheEntry("lmtp:inet:127.0.0.1:24")).toBeUndefined();
    expect(lmtpCacheEntry("chatbot:")).toBeUndefined();
    expect(lmtpCacheEntry("lmtp:unix:")).toBeUndefined();
    for (const path of ["/run/a,b.sock", "/run/a b.sock", "/run/{a}.sock", "/run/a=b.sock", "/run/a\tb.sock"]) {
      expect(lmtpCacheEntry(`lmtp:unix:${path}`), path).toBeUndefined();
    }
  });
});

describe("a lmtp_connection_cache_destinations value", () => {
  it("splits at commas and white space, not inside an inline table's braces", () => {
    expect(listEntries("inline:{a=yes, b=yes}, example.org  static:all,")).toEqual(["inline:{a=yes, b=yes}", "example.org", "static:all"]);
    expect(listEntries("")).toEqual([]);
  });

  it("lists the entry when it holds it or caches every destination", () => {
    const entry = "inline:{chatbot/lmtp.sock=yes}";
    expect(cacheListsEntry(`example.org, ${entry}`, entry)).toBe(true);
    expect(cacheListsEntry("static:all", entry)).toBe(true);
    expect(cacheListsEntry("inline:{chatbot/other.sock=yes}", entry)).toBe(false);
    expect(cacheListsEntry("", entry)).toBe(false);
  });
});
