// `chatbot host doctor`'s look at the routes the host keeps (host.json transportMap): does the
// table list exactly the installed bots, is its .db built from it, does Postfix read it, and does
// Postfix's own lookup send each bot to the host? Each problem comes with its fix.
import { readFile } from "node:fs/promises";
import type { HostConfig } from "./host-config.js";
import type { RouteProbe } from "./route-probe.js";
import { mapsReadTable, plannedTransportMap, postfixTool, tableDbIsCurrent, tableEntry, transportNexthop } from "./transport-map.js";
import { cacheListsEntry, lmtpCacheEntry } from "../setup/lmtp-cache.js";
import { withEntryFirst } from "./postfix-list.js";

/** One thing wrong with the routes, and what to do. */
export interface RouteProblem {
  what: string;
  fix: string;
}

/** What doctor found: `problems` is empty when every bot reaches the host. */
export interface RouteCheck {
  file: string;
  bots: number;
  /** A probe mail through Postfix to the host's door (route-probe.ts), when the table is right and a bot can send it. */
  probe: RouteProbe | null;
  problems: RouteProblem[];
  /** What works but costs more than it needs to (never fails --require-all): Postfix not keeping its connections to the door. */
  hints: RouteProblem[];
}

/** Check the routes; undefined when host.json has no transportMap (routes are the operator's lines). */
export async function checkRoutes(
  dataDir: string,
  config: Pick<HostConfig, "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir" | "smtp">,
  probe: (dataDir: string, config: Pick<HostConfig, "smtp">) => Promise<RouteProbe | undefined> = async () => undefined,
): Promise<RouteCheck | undefined> {
  const planned = await plannedTransportMap(dataDir, config);
  if (planned === undefined) return undefined;
  const { file, bots, text: wanted } = planned;
  const nexthop = transportNexthop(config);
  const problems: RouteProblem[] = [];
  const rewrite = `chatbot host route --data-dir ${dataDir}`;
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) problems.push({ what: `the table ${file} does not exist`, fix: rewrite });
  else if (text !== wanted) problems.push({ what: `the table ${file} does not list exactly the ${bots.length} installed bots`, fix: rewrite });
  else if (!tableDbIsCurrent(file)) problems.push({ what: `${file}.db is missing or older than the table`, fix: rewrite });

  const used = await postfixTool("postconf", ["-h", "transport_maps"], config.postfixConfigDir).catch((error: Error) => {
    problems.push({
      what: `postconf could not be asked (${error.message.split("\n")[0]})`,
      fix: "install Postfix (Debian: postfix), or set host.json postfixConfigDir",
    });
    return undefined;
  });
  if (used !== undefined && !mapsReadTable(used, file)) {
    problems.push({
      what: `Postfix's transport_maps (${used || "empty"}) does not read the table`,
      fix: `postconf -e 'transport_maps = ${withEntryFirst(tableEntry(file), used)}' && postfix reload`,
    });
  }
  // A connection per mail works, but costs the door ~2.2–2.5 ms of CPU each (host/setup/lmtp-cache.ts).
  const hints: RouteProblem[] = [];
  const cacheEntry = lmtpCacheEntry(nexthop);
  if (used !== undefined && cacheEntry !== undefined) {
    const cached = await postfixTool("postconf", ["-h", "lmtp_connection_cache_destinations"], config.postfixConfigDir).catch(() => undefined);
    if (cached !== undefined && !cacheListsEntry(cached, cacheEntry))
      hints.push({
        what: "Postfix opens a new LMTP connection to the host for each mail that finds no backlog (lmtp_connection_cache_destinations does not list its socket): ~2.2–2.5 ms more of the door's CPU per mail",
        fix: `postconf -e 'lmtp_connection_cache_destinations = ${withEntryFirst(cacheEntry, cached)}' && postfix reload`,
      });
  }
  // Postfix's own lookup, bot by bot (postmap -q reads the .db as trivial-rewrite does).
  if (problems.length === 0) {
    for (const bot of bots) {
      const found = await postfixTool("postmap", ["-q", bot, tableEntry(file)], config.postfixConfigDir).catch(() => "");
      if (found !== nexthop) problems.push({ what: `Postfix's lookup of ${bot} gives ${found ? `"${found}"` : "nothing"}, not ${nexthop}`, fix: rewrite });
    }
  }
  // End to end: a mail through Postfix to the host's door, when the table itself is right.
  const sent = problems.length === 0 ? await probe(dataDir, config) : undefined;
  if (sent?.error !== undefined)
    problems.push({ what: `the relay refused the probe mail from ${sent.bot}: ${sent.error}`, fix: "check host.json smtp and the bot's password" });
  else if (sent !== undefined && sent.ms === null)
    problems.push({
      what: `a probe mail to ${sent.bot} did not reach the host's door within 20 s`,
      fix: `is 'host serve' running (systemctl status chatbot)? Postfix's log says where the mail went (grep ${sent.bot} /var/log/mail.log)`,
    });
  return { file, bots: bots.length, probe: sent ?? null, problems, hints };
}

/** The check for a person: one line, then a line per problem with its fix. */
export function formatRouteCheck(check: RouteCheck | undefined): string {
  if (check === undefined) return 'routes    the operator\'s (host.json has no "transportMap")\n';
  const hints = check.hints.map((h) => `  hint: ${h.what}\n    fix: ${h.fix}\n`).join("");
  if (check.problems.length === 0)
    return `routes    ok: ${check.file} routes the ${check.bots} installed bot${check.bots === 1 ? "" : "s"} to the host, and Postfix reads it${check.probe?.ms ? ` (a probe mail through ${check.probe.bot} arrived in ${check.probe.ms} ms)` : ""}\n${hints}`;
  return `routes    ${check.problems.length} problem${check.problems.length === 1 ? "" : "s"} with ${check.file}:\n${check.problems.map((p) => `  ${p.what}\n    fix: ${p.fix}\n`).join("")}${hints}`;
}
