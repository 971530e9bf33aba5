// `chatbot host doctor`'s look at the routes the host keeps (host.json transportMap): does the
// table list exactly the installed bots, is its .db built from it, does Postfix read it, and does
// Postfix's own lookup send each bot to the host? Each problem comes with its fix.
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { HostConfig } from "./host-config.js";
import { installedBotAddresses } from "./paths.js";
import { transportMapText, transportNexthop } from "./transport-map.js";

const execFileAsync = promisify(execFile);
/** How long one postconf or postmap query may take, ms. */
const QUERY_TIMEOUT_MS = 10_000;

/** One thing wrong with the routes, and what to do. */
export interface RouteProblem {
  what: string;
  fix: string;
}

/** What doctor found: `problems` is empty when every bot reaches the host. */
export interface RouteCheck {
  file: string;
  bots: number;
  problems: RouteProblem[];
}

type RouteConfig = Pick<HostConfig, "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir">;

async function postfixTool(tool: "postconf" | "postmap", args: string[], config: RouteConfig): Promise<string> {
  const configDir = config.postfixConfigDir === undefined ? [] : ["-c", config.postfixConfigDir];
  const { stdout } = await execFileAsync(tool, [...configDir, ...args], { timeout: QUERY_TIMEOUT_MS, encoding: "utf8" });
  return stdout.trim();
}

/** Check the routes; undefined when host.json has no transportMap (routes are the operator's lines). */
export async function checkRoutes(dataDir: string, config: RouteConfig): Promise<RouteCheck | undefined> {
  const file = config.transportMap;
  if (file === undefined) return undefined;
  const bots = await installedBotAddresses(dataDir);
  const nexthop = transportNexthop(config);
  const problems: RouteProblem[] = [];
  const rewrite = `chatbot host route --data-dir ${dataDir}`;
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) problems.push({ what: `the table ${file} does not exist`, fix: rewrite });
  else if (text !== transportMapText(bots, nexthop))
    problems.push({ what: `the table ${file} does not list exactly the ${bots.length} installed bots`, fix: rewrite });
  else if (!existsSync(`${file}.db`) || statSync(`${file}.db`).mtimeMs < statSync(file).mtimeMs)
    problems.push({ what: `${file}.db is missing or older than the table`, fix: rewrite });

  const used = await postfixTool("postconf", ["-h", "transport_maps"], config).catch((error: Error) => {
    problems.push({
      what: `postconf could not be asked (${error.message.split("\n")[0]})`,
      fix: "install Postfix (Debian: postfix), or set host.json postfixConfigDir",
    });
    return undefined;
  });
  if (used !== undefined && !used.split(/[\s,]+/).includes(`hash:${file}`)) {
    problems.push({
      what: `Postfix's transport_maps (${used || "empty"}) does not read the table`,
      fix: `postconf -e 'transport_maps = hash:${file}${used ? `, ${used}` : ""}' && postfix reload`,
    });
  }
  // Postfix's own lookup, bot by bot (postmap -q reads the .db as trivial-rewrite does).
  if (problems.length === 0) {
    for (const bot of bots) {
      const found = await postfixTool("postmap", ["-q", bot, `hash:${file}`], config).catch(() => "");
      if (found !== nexthop) problems.push({ what: `Postfix's lookup of ${bot} gives ${found ? `"${found}"` : "nothing"}, not ${nexthop}`, fix: rewrite });
    }
  }
  return { file, bots: bots.length, problems };
}

/** The check for a person: one line, then a line per problem with its fix. */
export function formatRouteCheck(check: RouteCheck | undefined): string {
  if (check === undefined) return 'routes    the operator\'s (host.json has no "transportMap")\n';
  if (check.problems.length === 0)
    return `routes    ok: ${check.file} routes the ${check.bots} installed bot${check.bots === 1 ? "" : "s"} to the host, and Postfix reads it\n`;
  return `routes    ${check.problems.length} problem${check.problems.length === 1 ? "" : "s"} with ${check.file}:\n${check.problems.map((p) => `  ${p.what}\n    fix: ${p.fix}\n`).join("")}`;
}
