// `chatbot host doctor`: which of the runner's walls (issue 12) work on this machine, each tried
// for real, with why and the fix for each one that does not; and, where host.json has
// "transportMap", whether Postfix routes every installed bot to the host (route-check.ts).
import { existsSync } from "node:fs";
import { detectWalls, type WallDetection } from "../../confine/detect-walls.js";
import { loadHostConfig } from "../../service/host-config.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { checkRoutes, formatRouteCheck, type RouteCheck } from "../../service/route-check.js";
import { checkDeploys, formatDeployCheck } from "../../service/deploy-check.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

/** Exit code of --require-all when a wall is down: a failed check, like test(1) and grep. */
const WALLS_DOWN_EXIT = 1;

const HELP = `Usage: chatbot host doctor [--json] [--require-all] [--data-dir DIR]

Try each wall that confines a bot's runner process and print it up or down, with why and, for
each one that is down, the fix. Each layer is tried for real by starting a program under it:
  network     a network namespace with only lo: no socket to the relay or the world
  filesystem  a tmpfs root with node, its libraries and the runner's files read-only and a
              scratch dir: not the data dir, /etc or home dirs
  identity    as root: a uid of its own per runner start (2000000000 and up, in no passwd
              file); otherwise the root of a user namespace; no capabilities, no_new_privs
  resources   rlimits: address space, open files, tasks (no fork), file size, no core dumps
  cgroup      a cgroup v2 per runner (memory.max, pids.max, cpu.max) where the host owns a
              delegated subtree (systemd Delegate=yes; host serve moves itself into a leaf
              and enables the controllers, this command only looks)
  lifetime    runners die with the host (PR_SET_PDEATHSIG) and with them all they started
'host serve' starts its runners behind every layer that is up and logs the same report as one
"runner.walls" line; host.json "requireWalls" makes it refuse to start without named layers.

Where DIR/host.json has "transportMap" (the routes the host keeps), it also checks that the
table lists exactly the installed bots, that its .db is built, that Postfix's transport_maps
reads it, that Postfix's lookup of each bot gives the host's door, and — end to end — that a
probe mail from an installed bot to itself comes back through Postfix to the host within 20 s
(the host logs it as route.probe and never runs it); a hint (not a failure) when Postfix's
lmtp_connection_cache_destinations does not list the host's socket, with the postconf line. Where it has
"deployInbox" (deploys from any account, 'chatbot host setup'), it checks the inbox folder (this
user's, open to Dovecot's mail group only, no deploy left waiting over a minute) and sends a probe
end to end: appended to an installed bot's ChatbotInstall folder, it must reach the inbox through
Dovecot's IMAPSieve rule and its hook within 10 s (the host logs it as deploy.probe and drops it).

Options:
  --json         print the report as one JSON object
  --require-all  exit 1 when any layer is down, the walls fail together, a route is wrong, or
                 deploys cannot reach the host
                 (for scripts and CI)
  --data-dir DIR the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help     show this help

Example:
  sudo chatbot host doctor --require-all
`;

/** The report for a person: one line per layer, then why and the fix. */
export function formatWalls(detection: WallDetection): string {
  const out: string[] = [];
  for (const report of detection.reports) {
    out.push(`${report.up ? "up  " : "DOWN"}  ${report.layer.padEnd(10)}  ${report.why}`);
    if (report.fix) out.push(`${" ".repeat(18)}${report.up ? "better" : "fix"}: ${report.fix}`);
  }
  out.push(`together: ${detection.combined.why}`);
  const down = detection.reports.filter((r) => !r.up).map((r) => r.layer);
  out.push(down.length === 0 ? "all walls are up" : `down: ${down.join(", ")}`);
  return `${out.join("\n")}\n`;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    "host doctor",
    args,
    { json: { type: "boolean" }, "require-all": { type: "boolean" }, "data-dir": { type: "string" } },
    0,
  );
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const configFile = hostPaths(dataDir).config;
  // No host.json here (doctor before 'host init', or another data dir): no routes to check.
  const hasConfig = existsSync(configFile);
  const config = hasConfig ? await loadHostConfig(configFile, dataDir) : undefined;
  const [detection, routes, deploys] = await Promise.all([
    detectWalls(),
    config
      ? import("../../service/route-probe.js").then(({ probeRoute }) => checkRoutes(dataDir, config, probeRoute))
      : Promise.resolve(undefined as RouteCheck | undefined),
    config
      ? import("../../deploy/imap-mailbox.js").then(({ openDeployMailbox }) => checkDeploys(dataDir, config, openDeployMailbox))
      : Promise.resolve(undefined),
  ]);
  if (values.json) {
    const { reports, combined } = detection;
    io.stdout(
      `${JSON.stringify({ walls: reports, combined, allUp: reports.every((r) => r.up) && combined.ok, routes: routes ?? null, deploys: deploys ?? null }, null, 2)}\n`,
    );
  } else io.stdout(formatWalls(detection) + (hasConfig ? formatRouteCheck(routes) + formatDeployCheck(deploys) : ""));
  const allUp = detection.reports.every((r) => r.up) && detection.combined.ok && (routes?.problems.length ?? 0) === 0 && (deploys?.problems.length ?? 0) === 0;
  return values["require-all"] && !allUp ? WALLS_DOWN_EXIT : EXIT.ok;
}

export const hostDoctorCommand: Command = {
  path: ["host", "doctor"],
  summary: "check the walls around bot runners (namespaces, uid, rlimits, cgroup)",
  help: HELP,
  run,
};
