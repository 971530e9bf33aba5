// `chatbot host doctor`'s look at deploys from any account (host.json deployInbox): the inbox folder
// is the host user's, closed to everyone but Dovecot's mail group, not backed up (a backlog means
// `host serve` is not taking deploys), and — end to end — a probe appended to an installed bot's
// ChatbotInstall folder goes through Dovecot's IMAPSieve rule and its hook into the inbox. Each
// problem comes with its fix.
import { randomBytes } from "node:crypto";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { PROBE_HEADER_SCAN_BYTES } from "../../core/limits.js";
import type { DeployMailbox, ImapSettings } from "../deploy/imap-mailbox.js";
import { headerBlock } from "../mail/header-block.js";
import type { HostConfig } from "./host-config.js";
import { readLogTail } from "./log-file.js";
import { hostPaths, installedBotAddresses } from "./paths.js";

/** The header of a doctor's probe: the deploy inbox logs it (deploy.probe) and drops it, never installs it. */
export const PROBE_HEADER = "X-Chatbot-Probe";
/** How long the probe may take from APPEND to the inbox (or the host's log), ms. */
const PROBE_TIMEOUT_MS = 10_000;
/** A file waiting in the inbox longer than this means nobody takes deploys, ms. */
const BACKLOG_MS = 60_000;

export interface DeployProblem {
  what: string;
  fix: string;
}

export interface DeployCheck {
  inbox: string;
  /** The probe: which bot's folder it went through and how long it took; null when there was no bot to probe with. */
  probe: { bot: string; ms: number | null } | null;
  problems: DeployProblem[];
}

/** The nonce of a probe message in `raw` (its header part), if it is one. */
export function probeNonce(raw: Uint8Array): string | undefined {
  return new RegExp(`^${PROBE_HEADER}:[ \\t]*([0-9a-f]{8,64})[ \\t]*$`, "im").exec(headerBlock(raw, PROBE_HEADER_SCAN_BYTES))?.[1];
}

/** Whether a file or the host's log shows the probe `nonce` arrived. */
async function probeArrived(inbox: string, logFile: string, nonce: string): Promise<boolean> {
  for (const name of await readdir(inbox).catch(() => [] as string[])) {
    const handle = await open(join(inbox, name), "r").catch(() => undefined);
    if (!handle) continue;
    try {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(8192), 0, 8192, 0);
      if (probeNonce(buffer.subarray(0, bytesRead)) === nonce) return true;
    } finally {
      await handle.close();
    }
  }
  return probeLogged(logFile, nonce);
}

/** How far back in the host's log a probe's line is looked for, bytes (readLogTail: never the whole file). */
const PROBE_LOG_TAIL_BYTES = 256 * 1024;

/** Whether the host logged the probe `nonce` (deploy.probe or route.probe) near the end of its log. */
export async function probeLogged(logFile: string, nonce: string): Promise<boolean> {
  const tail = await readLogTail(logFile, PROBE_LOG_TAIL_BYTES).catch(() => undefined);
  return tail?.lines.some((line) => line.includes(`"nonce":"${nonce}"`)) ?? false;
}

/** How often a doctor probe looks whether it arrived, ms. */
const PROBE_LOOK_MS = 100;

/** Look every PROBE_LOOK_MS until `arrived` says yes (resolves with the ms it took) or `timeoutMs` passed (null). */
export async function waitForProbe(arrived: () => Promise<boolean>, timeoutMs: number, now: () => number): Promise<number | null> {
  const started = now();
  while (now() - started < timeoutMs) {
    if (await arrived()) return now() - started;
    await new Promise((resolve) => setTimeout(resolve, PROBE_LOOK_MS));
  }
  return null;
}

/** Check the deploy inbox; undefined when host.json has none. `openMailbox` logs in as a bot (imap-mailbox.ts). */
export async function checkDeploys(
  dataDir: string,
  config: Pick<HostConfig, "deployInbox" | "imap">,
  openMailbox: (settings: Readonly<ImapSettings>, user: string, password: string) => Promise<DeployMailbox>,
  now: () => number = Date.now,
): Promise<DeployCheck | undefined> {
  const inbox = config.deployInbox;
  if (inbox === undefined) return undefined;
  const problems: DeployProblem[] = [];
  const setup = "run 'chatbot host setup' as root (or see README \"The deploy inbox\")";
  const info = await stat(inbox).catch(() => undefined);
  if (!info?.isDirectory()) return { inbox, probe: null, problems: [{ what: `the deploy inbox ${inbox} does not exist`, fix: setup }] };
  if (info.uid !== process.getuid?.()) problems.push({ what: `${inbox} is not this user's (owner uid ${info.uid})`, fix: setup });
  if ((info.mode & 0o007) !== 0)
    problems.push({ what: `${inbox} is open to every user (mode ${(info.mode & 0o7777).toString(8)})`, fix: `chmod 2770 ${inbox}` });
  if ((info.mode & 0o020) === 0)
    problems.push({ what: `Dovecot's mail group may not write into ${inbox} (mode ${(info.mode & 0o7777).toString(8)})`, fix: `chmod 2770 ${inbox}` });
  let oldest = Number.POSITIVE_INFINITY;
  for (const name of await readdir(inbox).catch(() => [] as string[])) {
    const file = await stat(join(inbox, name)).catch(() => undefined);
    if (file && !name.startsWith(".")) oldest = Math.min(oldest, file.mtimeMs);
  }
  if (now() - oldest > BACKLOG_MS)
    problems.push({
      what: `deploys have waited in ${inbox} for ${Math.round((now() - oldest) / 1000)} s`,
      fix: "start the service: systemctl start chatbot (its log says why it stopped)",
    });

  // End to end: a probe through an installed bot's folder (the host has those accounts' passwords).
  let probe: DeployCheck["probe"] = null;
  const bots = await installedBotAddresses(dataDir);
  for (const bot of bots) {
    const password = await readFile(hostPaths(dataDir).bot(bot).password, "utf8").catch(() => undefined);
    if (password === undefined) continue;
    const nonce = randomBytes(12).toString("hex");
    let mailbox: DeployMailbox;
    try {
      mailbox = await openMailbox(config.imap, bot, password.trim());
    } catch (error) {
      problems.push({ what: `the probe could not log in as ${bot}: ${(error as Error).message}`, fix: "check host.json imap and the bot's password" });
      break;
    }
    try {
      const uid = await mailbox.append(
        `From: <${bot}>\r\nTo: <${bot}>\r\nSubject: chatbot host doctor probe\r\n${PROBE_HEADER}: ${nonce}\r\n\r\nA probe of the deploy path; the host drops it.\r\n`,
      );
      const ms = await waitForProbe(() => probeArrived(inbox, hostPaths(dataDir).logFile, nonce), PROBE_TIMEOUT_MS, now);
      if (uid !== undefined) await mailbox.remove(uid).catch(() => undefined);
      probe = { bot, ms };
      if (ms === null)
        problems.push({
          what: `a probe appended to ${bot}'s ChatbotInstall did not reach ${inbox} within ${PROBE_TIMEOUT_MS / 1000} s: Dovecot's IMAPSieve rule or its hook is not working`,
          fix: `${setup}; Dovecot's log names the failing part (grep sieve)`,
        });
    } finally {
      await mailbox.close();
    }
    break;
  }
  return { inbox, probe, problems };
}

/** The check for a person: one line, then a line per problem with its fix. */
export function formatDeployCheck(check: DeployCheck | undefined): string {
  if (check === undefined) return 'deploys   installed bots only, by the poll (host.json has no "deployInbox")\n';
  const probe =
    check.probe === null
      ? "no bot installed to probe with"
      : check.probe.ms === null
        ? `probe through ${check.probe.bot} lost`
        : `a probe through ${check.probe.bot} arrived in ${check.probe.ms} ms`;
  if (check.problems.length === 0) return `deploys   ok: any account's deploys reach ${check.inbox} (${probe})\n`;
  return `deploys   ${check.problems.length} problem${check.problems.length === 1 ? "" : "s"} with ${check.inbox}:\n${check.problems.map((p) => `  ${p.what}\n    fix: ${p.fix}\n`).join("")}`;
}
