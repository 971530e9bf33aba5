// `chatbot host bots`: the installed bots, their settings and what they did lately (from the log).
// Its subcommands that change settings are in host-bots-settings.ts.
import { ChatbotError } from "../../../core/errors.js";
import { LOG_TAIL_BYTES } from "../../../core/limits.js";
import { readHostStatus, type BotStatus, type HostStatus } from "../../service/bot-status.js";
import type { UsageWindow } from "../../service/bot-usage.js";
import { loadHostConfig } from "../../service/host-config.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host bots [--data-dir DIR] [--json] [--now TIME]
       chatbot host bots enable ADDR [--data-dir DIR]
       chatbot host bots disable ADDR [--data-dir DIR]
       chatbot host bots approve-origin ADDR ORIGIN [--data-dir DIR]
       chatbot host bots approve-origin --global ORIGIN [--data-dir DIR]
       chatbot host bots revoke-origin ADDR ORIGIN [--data-dir DIR]
       chatbot host bots revoke-origin --global ORIGIN [--data-dir DIR]

List the installed bots: address, name, version, author and contact, enabled or disabled,
schedule, the fetch origins each manifest asks for and whether they are approved, and usage
from the log: events, failed runs, CPU ms, mails sent, mails dropped, events refused by a
per-user limit and deferred by the CPU budget, and reports (/report), over the last hour and
the last day, with the last event and the last error; then the bot's mail waiting in the spool
and dead letters, with the reason the last one was given up ([CODE] after N attempts: the error).
Usage is counted from the last ${LOG_TAIL_BYTES / 1024 / 1024} MiB of DIR/logs/host.jsonl; the report says from when.

The subcommands change a bot's settings; see 'chatbot host bots enable --help' and the others.

Options:
  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  --json          print the report as one JSON object
  --now TIME      count the hour and day back from TIME (ISO 8601, e.g. 2025-01-31T12:00Z)
                  instead of now; lines after TIME are left out
  -h, --help      show this help

Example:
  chatbot host bots --data-dir /var/lib/chatbot
`;

function windowLine(window: UsageWindow): string {
  return `events ${window.events} (failed ${window.failed}), CPU ${Math.round(window.cpuMs)} ms, sent ${window.sent}, dropped ${window.dropped}, refused ${window.refused}, deferred ${window.deferred}, reported ${window.reported}`;
}

function originsLine(bot: BotStatus): string {
  if (bot.origins.length === 0) return "none";
  return bot.origins
    .map(({ origin, requested, approved }) => {
      if (!requested) return `${origin} (approved but not asked for)`;
      return approved === null
        ? `${origin} (waiting: chatbot host bots approve-origin ${bot.address} ${origin})`
        : `${origin} (approved${approved === "global" ? " for all bots" : ""})`;
    })
    .join(", ");
}

/** Chatmail deletes an account after this long without an IMAP login, ms (90 days). */
const CHATMAIL_ACCOUNT_EXPIRY_MS = 90 * 24 * 60 * 60 * 1000;

/** When the host last logged in as the bot, and a warning when that is getting old. */
function accountLine(bot: BotStatus, nowMs: number): string {
  const { lastLoginAt, lastCheckAt } = bot.account;
  if (lastLoginAt === null) {
    return lastCheckAt === null
      ? "no IMAP login yet (host serve logs in at start and daily)"
      : `no IMAP login succeeded yet (last try ${lastCheckAt}; see 'chatbot host logs ${bot.address}' for account.error)`;
  }
  const days = Math.floor((nowMs - Date.parse(lastLoginAt)) / (24 * 60 * 60 * 1000));
  const left = Math.floor((CHATMAIL_ACCOUNT_EXPIRY_MS - (nowMs - Date.parse(lastLoginAt))) / (24 * 60 * 60 * 1000));
  const warning =
    days >= 2
      ? ` — WARNING: ${days} days without a login; chatmail deletes the account after 90 (${Math.max(0, left)} left). Is host serve running and can it log in?`
      : "";
  return `last IMAP login ${lastLoginAt}${warning}`;
}

/** The human-readable report. */
function formatHostStatus(status: HostStatus): string {
  if (status.bots.length === 0) return "no bots installed; install one with 'chatbot host install ADDR DIR --password-file FILE'\n";
  const out: string[] = [];
  for (const bot of status.bots) {
    const { usage } = bot;
    out.push(
      `${bot.address}  ${bot.enabled ? "enabled" : "disabled"}${bot.disabledReason ? ` (${bot.disabledReason})` : ""}${bot.pausedAt === null ? "" : `, paused by its author since ${bot.pausedAt} (its mail goes to its mailbox)`}`,
    );
    out.push(`  name        ${bot.name}`);
    if (bot.version !== null) out.push(`  bot         ${bot.manifestName} ${bot.version}, schedule ${bot.schedule}`);
    if (bot.author !== null) out.push(`  author      ${bot.author.name} <${bot.author.contact}>`);
    if (bot.problem !== null) out.push(`  problem     ${bot.problem}`);
    out.push(`  origins     ${originsLine(bot)}`);
    out.push(`  last hour   ${windowLine(usage.lastHour)}`);
    out.push(`  last day    ${windowLine(usage.lastDay)}`);
    out.push(`  last event  ${usage.lastEventAt ?? "none in the log"}`);
    if (usage.lastError) out.push(`  last error  ${usage.lastError.at} ${usage.lastError.event}: ${usage.lastError.detail}`);
    out.push(
      `  spool       waiting ${bot.spool.waiting}, dead letters ${bot.spool.dead}${bot.spool.lastDeadReason === null ? "" : ` (last: ${bot.spool.lastDeadReason})`}`,
    );
    out.push(`  account     ${accountLine(bot, Date.parse(status.now))}`);
  }
  const since = status.log.from === null ? "no log lines yet" : `log lines since ${status.log.from}${status.log.complete ? "" : " (older ones not read)"}`;
  out.push(`usage up to ${status.now} from ${status.log.file}: ${since}`);
  return `${out.join("\n")}\n`;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs("host bots", args, { "data-dir": { type: "string" }, json: { type: "boolean" }, now: { type: "string" } }, 0);
  const nowMs = values.now === undefined ? Date.now() : Date.parse(values.now);
  if (Number.isNaN(nowMs)) throw new ChatbotError("E_USAGE", `chatbot host bots: --now must be an ISO 8601 time like 2025-01-31T12:00Z, not "${values.now}"`);
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
  const status = await readHostStatus(dataDir, config, nowMs);
  io.stdout(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatHostStatus(status));
  return EXIT.ok;
}

export const hostBotsCommand: Command = { path: ["host", "bots"], summary: "list installed bots with their origins, usage and spool", help: HELP, run };
