// `chatbot host setup`: the operator's one command (issue 13, part 1). Each step knows whether it
// is done (so a second run changes nothing), the command it runs (what --dry-run prints), and how
// to take back what it changed in Postfix and systemd (--remove; the user, the data and the
// folders are kept: they hold the bots' keys and state).
import { existsSync, readFileSync, statSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { routesReloadUnits, systemdUnit } from "./systemd-unit.js";
import { dovecotRemoveSteps, dovecotSteps } from "./dovecot-steps.js";
import { mapsReadTable, tableEntry, transportNexthop } from "../service/transport-map.js";
import { cacheListsEntry, lmtpCacheEntry } from "./lmtp-cache.js";
import { listEntries, withEntryFirst, withoutEntry } from "../service/postfix-list.js";
import { findGroupId } from "../service/unix-groups.js";
import { runTool } from "../service/run-tool.js";

/** How long one command of a step may take, ms (adduser, postfix reload, systemctl). */
const STEP_TIMEOUT_MS = 60_000;

/** Where setup puts things, and which host it is. */
export interface SetupPlaces {
  user: string;
  dataDir: string;
  /** The folder of the transport table the host keeps (0755, the host user's). */
  routesDir: string;
  /** Postfix's queue directory: the LMTP socket goes into its chatbot/ folder. */
  queueDir: string;
  smtpPort: number;
  imapPort: number;
  unitFile: string;
  /** The deploy inbox (the host user's, group mailGroup, 2770): Dovecot's hook drops deploys in it. */
  deployDir: string;
  /** The group Dovecot's mail processes run as (chatmail: vmail), a name or a number. */
  mailGroup: string;
  /** Dovecot's main config file. */
  dovecotConfig: string;
  /** The relay bot host (host-bot.ts) and a file with its account's password (read as root); none: no notices. */
  hostBot?: { addr: string; passwordFile: string };
  node: string;
  /** lib/host/cli/main.js of this package. */
  cli: string;
  /** The environment commands run with (MAIL_CONFIG picks a Postfix instance). */
  env: NodeJS.ProcessEnv;
}

/** One step: done already, or the command that does it. */
export interface SetupStep {
  name: string;
  done: boolean;
  /** What it runs when not done, as a shell line (what --dry-run prints). */
  command: string;
  apply: () => Promise<void>;
}

/** What --remove undoes, kept in DATA/setup.json by the run that changed it. */
interface SetupRecord {
  /** transport_maps before setup added the host's table ("" when it was unset). */
  transportMapsBefore?: string;
  /** lmtp_connection_cache_destinations before setup added the host's socket ("" when it was unset). */
  lmtpCacheBefore?: string;
}

async function run(places: SetupPlaces, command: string, args: string[]): Promise<string> {
  return runTool(command, args, { env: places.env, timeoutMs: STEP_TIMEOUT_MS }).catch((error: Error) => {
    throw new Error(`${command} ${args.join(" ")} failed: ${error.message}`);
  });
}

const shell = (command: string, args: string[]) => [command, ...args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))].join(" ");

/** The uid of a user in /etc/passwd, or undefined. */
function userId(name: string): number | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return line === undefined ? undefined : Number(line.split(":")[2]);
}

/** A folder with this owner, group and mode (07777 bits). */
function folderIs(path: string, uid: number | undefined, gid: number | undefined, mode: number): boolean {
  if (!existsSync(path)) return false;
  const stat = statSync(path);
  return stat.isDirectory() && stat.uid === uid && stat.gid === gid && (stat.mode & 0o7777) === mode;
}

const recordFile = (places: SetupPlaces) => join(places.dataDir, "setup.json");
const tablePath = (places: SetupPlaces) => join(places.routesDir, "transport");

function readRecord(places: SetupPlaces): SetupRecord {
  try {
    return JSON.parse(readFileSync(recordFile(places), "utf8")) as SetupRecord;
  } catch {
    return {};
  }
}

/** DATA/host.json's keys, or undefined when it is missing or unreadable. */
function readHostJson(dataDir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, "host.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The steps of `host setup`, each checked now. */
export async function setupSteps(places: SetupPlaces): Promise<SetupStep[]> {
  const { user, dataDir, routesDir, queueDir } = places;
  const socketDir = join(queueDir, "chatbot");
  const table = tablePath(places);
  const mailGid = /^\d+$/.test(places.mailGroup) ? Number(places.mailGroup) : findGroupId(places.mailGroup);
  const asUser = (args: string[]) => ["-u", user, "--", places.node, places.cli, ...args];
  const steps: SetupStep[] = [];
  const add = (name: string, done: boolean, command: string, args: string[]) =>
    steps.push({ name, done, command: shell(command, args), apply: () => run(places, command, args).then(() => undefined) });

  const uid = userId(user);
  add(`system user ${user}`, uid !== undefined, "adduser", ["--system", "--group", "--home", dataDir, user]);
  add(
    `host data directory ${dataDir} (host.json)`,
    existsSync(join(dataDir, "host.json")),
    "runuser",
    asUser([
      "host",
      "init",
      "--data-dir",
      dataDir,
      "--smtp-port",
      String(places.smtpPort),
      "--imap-port",
      String(places.imapPort),
      "--lmtp-socket",
      join(socketDir, "lmtp.sock"),
      "--lmtp-group",
      "postfix",
      "--transport-map",
      table,
      "--deploy-inbox",
      places.deployDir,
    ]),
  );
  add(`LMTP socket folder ${socketDir} (${user}:postfix 2750)`, folderIs(socketDir, uid, findGroupId("postfix"), 0o2750), "install", [
    "-d",
    "-o",
    user,
    "-g",
    "postfix",
    "-m",
    "2750",
    socketDir,
  ]);
  add(`routes folder ${routesDir} (${user} 0755)`, folderIs(routesDir, uid, findGroupId(user), 0o755), "install", [
    "-d",
    "-o",
    user,
    "-g",
    user,
    "-m",
    "0755",
    routesDir,
  ]);
  add(
    `deploy inbox ${places.deployDir} (${user}:${places.mailGroup} 2770: Dovecot's mail processes drop deploys in it)`,
    folderIs(places.deployDir, uid, mailGid, 0o2770),
    "install",
    ["-d", "-o", user, "-g", places.mailGroup, "-m", "2770", places.deployDir],
  );
  // A host.json from before the deploy inbox: the key, set in place (owner and mode kept).
  const hostJson = join(dataDir, "host.json");
  const hostConfig = readHostJson(dataDir);
  steps.push({
    name: `host.json watches the deploy inbox (deployInbox ${places.deployDir})`,
    done: hostConfig?.deployInbox === places.deployDir,
    command: `set deployInbox in ${hostJson}`,
    apply: async () => {
      const now = JSON.parse(await readFile(hostJson, "utf8")) as Record<string, unknown>;
      await writeFile(hostJson, `${JSON.stringify({ ...now, deployInbox: places.deployDir }, null, 2)}\n`);
    },
  });
  add(`routes table ${table}`, existsSync(`${table}.db`), "runuser", asUser(["host", "route", "--data-dir", dataDir]));
  if (places.hostBot) {
    const { addr, passwordFile } = places.hostBot;
    // The service user may not read root's file: a copy it owns, for the one install, then gone.
    const copy = join(dataDir, ".host-bot.pw");
    steps.push({
      name: `relay bot host ${addr} (host.json hostBot: the host's notices to deploying accounts)`,
      done: hostConfig?.hostBot === addr && existsSync(join(dataDir, "bots", addr, "bot.json")),
      command: shell("runuser", asUser(["host", "install", addr, "--host-bot", "--password-file", passwordFile, "--data-dir", dataDir])),
      apply: async () => {
        const password = await readFile(passwordFile, "utf8");
        // The service user owns this folder: whatever it left at that name (a symlink to /etc/shadow)
        // goes, and the copy is made new (O_EXCL), never written through a link; chown -h never follows one.
        await rm(copy, { force: true });
        await writeFile(copy, password, { mode: 0o600, flag: "wx" });
        try {
          await run(places, "chown", ["-h", user, copy]);
          await run(places, "runuser", asUser(["host", "install", addr, "--host-bot", "--password-file", copy, "--data-dir", dataDir]));
        } finally {
          await rm(copy, { force: true });
        }
      },
    });
  }

  const maps = await run(places, "postconf", ["-h", "transport_maps"]).catch(() => "");
  const entry = tableEntry(table);
  steps.push(
    listParameterStep(places, {
      name: `Postfix transport_maps reads ${entry}`,
      parameter: "transport_maps",
      entry,
      current: maps,
      done: mapsReadTable(maps, table),
      recordKey: "transportMapsBefore",
    }),
  );

  steps.push(...(await lmtpCacheSteps(places, hostConfig, join(socketDir, "lmtp.sock"))));

  steps.push(...(await dovecotSteps({ dovecotConfig: places.dovecotConfig, deployInbox: places.deployDir, env: places.env })));

  const unit = systemdUnit({ user, node: places.node, cli: places.cli, dataDir, socketDir, routesDir, deployDir: places.deployDir });
  const unitName = basename(places.unitFile);
  const systemd = existsSync("/run/systemd/system");
  steps.push({
    name: `systemd unit ${places.unitFile}${systemd ? " (enabled and started)" : " (no systemd running here: written, not started)"}`,
    done: (await readFile(places.unitFile, "utf8").catch(() => undefined)) === unit,
    command: `write ${places.unitFile}${systemd ? ` && systemctl daemon-reload && systemctl enable --now ${unitName}` : ""}`,
    apply: async () => {
      await writeFile(places.unitFile, unit, { mode: 0o644 });
      if (systemd) {
        await run(places, "systemctl", ["daemon-reload"]);
        await run(places, "systemctl", ["enable", "--now", unitName]);
      }
    },
  });
  // Postfix's queue manager sees a changed table only after a reload (or minutes): a path unit reloads it for the host.
  const reload = routesReloadUnits(routesDir);
  const pathFile = join(dirname(places.unitFile), "chatbot-routes.path");
  const serviceFile = join(dirname(places.unitFile), "chatbot-routes.service");
  const reloadWritten =
    (await readFile(pathFile, "utf8").catch(() => undefined)) === reload.path &&
    (await readFile(serviceFile, "utf8").catch(() => undefined)) === reload.service;
  steps.push({
    name: `systemd units ${pathFile} and ${serviceFile}: postfix reload when the routes table changes${systemd ? "" : " (no systemd running here: written, not started)"}`,
    done: reloadWritten,
    command: `write ${pathFile} ${serviceFile}${systemd ? " && systemctl daemon-reload && systemctl enable --now chatbot-routes.path" : ""}`,
    apply: async () => {
      await writeFile(serviceFile, reload.service, { mode: 0o644 });
      await writeFile(pathFile, reload.path, { mode: 0o644 });
      if (systemd) {
        await run(places, "systemctl", ["daemon-reload"]);
        await run(places, "systemctl", ["enable", "--now", "chatbot-routes.path"]);
      }
    },
  });
  return steps;
}

/** The entry that lets Postfix keep its LMTP connections to the host's door (lmtp-cache.ts), from host.json's socket and next hop when there is one. */
function doorCacheEntry(hostConfig: Record<string, unknown> | undefined, plannedSocket: string): string | undefined {
  const lmtpSocket = typeof hostConfig?.lmtpSocket === "string" ? hostConfig.lmtpSocket : plannedSocket;
  const nexthop = typeof hostConfig?.transportNexthop === "string" ? hostConfig.transportNexthop : undefined;
  return lmtpCacheEntry(transportNexthop({ lmtpSocket, transportNexthop: nexthop }));
}

/** Postfix's lmtp(8) keeps its connections to the door between mails (none for a next hop that is not a unix socket). */
async function lmtpCacheSteps(places: SetupPlaces, hostConfig: Record<string, unknown> | undefined, plannedSocket: string): Promise<SetupStep[]> {
  const entry = doorCacheEntry(hostConfig, plannedSocket);
  if (entry === undefined) return [];
  const current = await run(places, "postconf", ["-h", "lmtp_connection_cache_destinations"]).catch(() => "");
  return [
    listParameterStep(places, {
      name: `Postfix keeps its LMTP connections to the host open between mails (lmtp_connection_cache_destinations ${entry})`,
      parameter: "lmtp_connection_cache_destinations",
      entry,
      current,
      done: cacheListsEntry(current, entry),
      recordKey: "lmtpCacheBefore",
    }),
  ];
}

/** A step that puts `entry` first in the Postfix list parameter (its value now `current`) and reloads; `current` is recorded for --remove first. */
function listParameterStep(
  places: SetupPlaces,
  step: { name: string; parameter: string; entry: string; current: string; done: boolean; recordKey: keyof SetupRecord },
): SetupStep {
  const setting = `${step.parameter} = ${withEntryFirst(step.entry, step.current)}`;
  return {
    name: step.name,
    done: step.done,
    command: `${shell("postconf", ["-e", setting])} && postfix reload`,
    apply: async () => {
      // What --remove puts back; written before the change, so a failed reload still leaves it.
      await writeFile(recordFile(places), `${JSON.stringify({ ...readRecord(places), [step.recordKey]: step.current } satisfies SetupRecord)}\n`, {
        mode: 0o600,
      });
      await run(places, "postconf", ["-e", setting]);
      await run(places, "postfix", ["reload"]);
    },
  };
}

/** --remove: the Postfix parameter set back to `restored` (removed when that is empty), then a reload. */
function restoreParameterStep(places: SetupPlaces, step: { name: string; parameter: string; restored: string; done: boolean }): SetupStep {
  const { parameter, restored } = step;
  return {
    name: step.name,
    done: step.done,
    command: `${restored === "" ? `postconf -X ${parameter}` : shell("postconf", ["-e", `${parameter} = ${restored}`])} && postfix reload`,
    apply: async () => {
      await run(places, "postconf", restored === "" ? ["-X", parameter] : ["-e", `${parameter} = ${restored}`]);
      await run(places, "postfix", ["reload"]);
    },
  };
}

/** --remove: lmtp_connection_cache_destinations as before setup (or without the door's entry). */
async function lmtpCacheRemoveSteps(places: SetupPlaces): Promise<SetupStep[]> {
  const entry = doorCacheEntry(readHostJson(places.dataDir), join(places.queueDir, "chatbot", "lmtp.sock"));
  if (entry === undefined) return [];
  const current = await run(places, "postconf", ["-h", "lmtp_connection_cache_destinations"]).catch(() => "");
  const restored = readRecord(places).lmtpCacheBefore ?? withoutEntry(current, entry);
  return [
    restoreParameterStep(places, {
      name: `Postfix lmtp_connection_cache_destinations without ${entry}`,
      parameter: "lmtp_connection_cache_destinations",
      restored,
      done: !listEntries(current).includes(entry),
    }),
  ];
}

/** The steps of `host setup --remove`: Postfix's transport_maps as before setup, the unit gone. */
export async function removeSteps(places: SetupPlaces): Promise<SetupStep[]> {
  const steps: SetupStep[] = [];
  const unitName = basename(places.unitFile);
  const systemd = existsSync("/run/systemd/system");
  steps.push({
    name: `systemd unit ${places.unitFile} removed`,
    done: !existsSync(places.unitFile),
    command: `${systemd ? `systemctl disable --now ${unitName} && ` : ""}rm ${places.unitFile}`,
    apply: async () => {
      if (systemd) await run(places, "systemctl", ["disable", "--now", unitName]);
      await rm(places.unitFile, { force: true });
      if (systemd) await run(places, "systemctl", ["daemon-reload"]);
    },
  });
  const pathFile = join(dirname(places.unitFile), "chatbot-routes.path");
  const serviceFile = join(dirname(places.unitFile), "chatbot-routes.service");
  steps.push({
    name: `systemd units ${pathFile} and ${serviceFile} removed`,
    done: !existsSync(pathFile) && !existsSync(serviceFile),
    command: `${systemd ? "systemctl disable --now chatbot-routes.path && " : ""}rm ${pathFile} ${serviceFile}`,
    apply: async () => {
      if (systemd) await run(places, "systemctl", ["disable", "--now", "chatbot-routes.path"]);
      await rm(pathFile, { force: true });
      await rm(serviceFile, { force: true });
      if (systemd) await run(places, "systemctl", ["daemon-reload"]);
    },
  });
  steps.push(...(await dovecotRemoveSteps({ dovecotConfig: places.dovecotConfig, deployInbox: places.deployDir, env: places.env })));
  steps.push(...(await lmtpCacheRemoveSteps(places)));
  const entry = tableEntry(tablePath(places));
  const maps = await run(places, "postconf", ["-h", "transport_maps"]).catch(() => "");
  const restored = readRecord(places).transportMapsBefore ?? withoutEntry(maps, entry);
  steps.push(
    restoreParameterStep(places, {
      name: `Postfix transport_maps without ${entry}`,
      parameter: "transport_maps",
      restored,
      done: !mapsReadTable(maps, tablePath(places)),
    }),
  );
  return steps;
}
