// Postfix keeps its LMTP connections to the host open between mails (issue 15 part 2). Without a
// backlog, Postfix's lmtp(8) opens one connection per mail, and setting up and tearing down the
// door's side of a session costs ~2.2–2.5 ms of the door's CPU (test/bench/lmtp-door-only.ts
// --no-spool: 2.7–2.9 ms a mail with one mail per connection against 0.57–0.66 ms with ten). Listed in
// `lmtp_connection_cache_destinations`, the socket's sessions go to Postfix's scache and are reused
// for mail that comes within `lmtp_connection_cache_time_limit` (2 s by default).
//
// Postfix matches the socket path of an `lmtp:unix:PATH` next hop, without the "unix:" prefix and
// lower-cased (smtp_connect.c smtp_connect_local, match_ops.c), against that list. A bare path
// cannot be listed: a pattern starting with "/" names a file of patterns. So the entry is a one-key
// inline table, its key lower-cased, because inline tables keep their keys as written: tried on
// the test relay, `inline:{/tmp/cacheTEST-x/lmtp.sock=yes}` matched nothing and the lower-cased
// key matched.

import { listEntries } from "../service/postfix-list.js";

/** Characters an inline table's key cannot hold as written (its own syntax). */
const INLINE_SYNTAX = /[\s,{}=]/;

/**
 * The `lmtp_connection_cache_destinations` entry that caches connections to the next hop
 * `lmtp:unix:PATH`, or undefined for a next hop that is not a unix-socket LMTP one (or whose path
 * an inline table cannot name).
 */
export function lmtpCacheEntry(nexthop: string): string | undefined {
  const path = /^lmtp:unix:(.+)$/.exec(nexthop)?.[1];
  if (path === undefined || INLINE_SYNTAX.test(path)) return undefined;
  return `inline:{${path.toLowerCase()}=yes}`;
}

/** Whether a `lmtp_connection_cache_destinations` value lists `entry` (or caches every destination). */
export function cacheListsEntry(value: string, entry: string): boolean {
  const entries = listEntries(value);
  return entries.includes(entry) || entries.includes("static:all");
}
