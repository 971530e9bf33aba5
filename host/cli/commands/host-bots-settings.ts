// `chatbot host bots enable|disable ADDR` and `approve-origin|revoke-origin [ADDR | --global] ORIGIN`:
// the operator's settings of installed bots. Per-bot settings live in bots/<addr>/bot.json, which
// the service reloads when its mtime changes (at the bot's next mail or tick); global approvals
// live in host.json, which the service reads when it starts.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAccountAddress } from "../../../core/address.js";
import { checkOrigin } from "../../../core/manifest-values.js";
import { ChatbotError } from "../../../core/errors.js";
import { systemClock } from "../../../core/clock.js";
import { loadHostConfig, saveHostConfig } from "../../service/host-config.js";
import { readBundleFolder } from "../../service/installed-bots.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { readJsonFile, writeJsonFile } from "../../storage/json-file.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type Command } from "../command.js";

const DATA_DIR_OPTION = "  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)";

/** The address argument, lower case, of a bot installed here; E_USAGE / E_NOT_FOUND otherwise. */
function installedAddress(name: string, dataDir: string, text: string | undefined): string {
  const addr = text?.toLowerCase();
  if (!addr || !isAccountAddress(addr))
    throw new ChatbotError("E_USAGE", `chatbot ${name}: give the bot's address, e.g. chatbot ${name} echobot01@chat.example.org`);
  if (!existsSync(hostPaths(dataDir).bot(addr).config))
    throw new ChatbotError("E_NOT_FOUND", `chatbot ${name}: no bot is installed at ${addr} (see 'chatbot host bots')`);
  return addr;
}

/** bot.json as stored (unknown keys kept), with `change` applied, written atomically. */
async function editBotJson(dataDir: string, addr: string, change: (settings: Record<string, unknown>) => void): Promise<void> {
  const file = hostPaths(dataDir).bot(addr).config;
  const settings = await readJsonFile<Record<string, unknown>>(file, {});
  change(settings);
  await writeJsonFile(file, settings);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

// enable / disable

const ENABLE_OPTIONS = { "data-dir": { type: "string" } } as const;
const DISABLE_OPTIONS = { ...ENABLE_OPTIONS, reason: { type: "string" } } as const;

/** The most characters of a disable reason. */
const DISABLE_REASON_MAX_CHARS = 500;

/** A disable reason: one line of printable text, at most DISABLE_REASON_MAX_CHARS; E_USAGE otherwise. */
function checkReason(name: string, text: string): string {
  const reason = text.trim();
  if (reason === "" || reason.length > DISABLE_REASON_MAX_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) {
    throw new ChatbotError("E_USAGE", `chatbot ${name}: --reason must be one line of 1-${DISABLE_REASON_MAX_CHARS} printable characters`);
  }
  return reason;
}

function enableHelp(verb: "enable" | "disable"): string {
  const effect =
    verb === "enable"
      ? "Let the bot run again: its mail and ticks are handled as before."
      : "Stop the bot: its mail is moved to the dead letters (DIR/spool/dead) instead of running\nit, and its ticks stop, until 'chatbot host bots enable ADDR'.";
  const reason = verb === "disable" ? " [--reason TEXT]" : "";
  const reasonOption = verb === "disable" ? "\n  --reason TEXT   why (shown by 'chatbot host bots'; one line, 500 characters at most)" : "";
  return `Usage: chatbot host bots ${verb} ADDR${reason} [--data-dir DIR]

${effect}
The setting is in DIR/bots/ADDR/bot.json; the running service picks it up at the bot's next
mail or tick, without a restart.

Options:
${DATA_DIR_OPTION}${reasonOption}
  -h, --help      show this help

Example:
  chatbot host bots ${verb} echobot01@chat.example.org${verb === "disable" ? ' --reason "reported for spam"' : ""}
`;
}

function enableCommand(verb: "enable" | "disable"): Command {
  const name = `host bots ${verb}`;
  const enabled = verb === "enable";
  return {
    path: ["host", "bots", verb],
    summary: enabled ? "let a disabled bot run again" : "stop a bot (its mail goes to the dead letters)",
    help: enableHelp(verb),
    async run(args, io) {
      // Only disable takes --reason: enable refuses it as an unknown option.
      const { values, positionals } = parseCommandArgs(name, args, enabled ? ENABLE_OPTIONS : DISABLE_OPTIONS, 1);
      const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
      const addr = installedAddress(name, dataDir, positionals[0]);
      const given: unknown = "reason" in values ? values.reason : undefined;
      const reason = typeof given === "string" ? checkReason(name, given) : undefined;
      let was: unknown;
      await editBotJson(dataDir, addr, (settings) => {
        was = settings.enabled;
        settings.enabled = enabled;
        if (enabled) delete settings.disabledReason;
        else if (reason !== undefined) settings.disabledReason = reason;
      });
      io.stdout(was === enabled ? `${addr} was already ${verb}d\n` : `${verb}d ${addr}\n`);
      if (was !== enabled) {
        // The author is told, by the relay bot host (author-notices.ts); the notice line goes to stderr.
        const { authorNoticesFor } = await import("../../service/author-notices.js");
        const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
        const log = (line: { event: string } & Record<string, unknown>) => io.stderr(`${JSON.stringify(line)}\n`);
        await authorNoticesFor(dataDir, config, systemClock, log).notify(
          addr,
          verb === "enable" ? "enabled" : "disabled",
          enabled
            ? `The relay's operator enabled ${addr} again: it answers its mail.`
            : `The relay's operator disabled ${addr}${reason ? `: ${reason}` : ""}. Its mail is not answered while it is disabled; ask the relay's operator about it.`,
        );
      }
      return EXIT.ok;
    },
  };
}

export const hostBotsEnableCommand = enableCommand("enable");
export const hostBotsDisableCommand = enableCommand("disable");

// approve-origin / revoke-origin

function originHelp(verb: "approve" | "revoke"): string {
  const what =
    verb === "approve"
      ? `Let the bot ADDR fetch from ORIGIN. Only an origin its installed manifest asks for can be
approved for one bot; ORIGIN must be written as in the manifest: https://host[:port]
(http only for localhost), without a path or trailing slash. With --global, ORIGIN is
approved in host.json for every bot whose manifest asks for it.`
      : `Take back an approval: ADDR may no longer fetch from ORIGIN (unless it is approved for all
bots in host.json). With --global, remove ORIGIN from host.json's approvals.`;
  return `Usage: chatbot host bots ${verb}-origin ADDR ORIGIN [--data-dir DIR]
       chatbot host bots ${verb}-origin --global ORIGIN [--data-dir DIR]

${what}
A bot's approvals are in DIR/bots/ADDR/bot.json: the running service picks them up at the
bot's next mail or tick. Global approvals are in DIR/host.json: restart 'chatbot host serve'
for them to take effect.

Options:
  --global        change host.json's approvedOrigins (every bot) instead of one bot's
${DATA_DIR_OPTION}
  -h, --help      show this help

Example:
  chatbot host bots ${verb}-origin echobot01@chat.example.org https://api.example.org
`;
}

/** host.json as stored, with its approvedOrigins changed; checked by the parser before and after. */
async function editGlobalOrigins(dataDir: string, change: (origins: string[]) => string[]): Promise<void> {
  const file = hostPaths(dataDir).config;
  await loadHostConfig(file, dataDir); // a broken host.json is reported, never overwritten
  const raw = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  raw.approvedOrigins = change(stringList(raw.approvedOrigins));
  await saveHostConfig(file, raw);
}

function originCommand(verb: "approve" | "revoke"): Command {
  const name = `host bots ${verb}-origin`;
  const approve = verb === "approve";
  return {
    path: ["host", "bots", `${verb}-origin`],
    summary: approve ? "approve a fetch origin for a bot (or --global for all)" : "take back an approved fetch origin",
    help: originHelp(verb),
    async run(args, io) {
      const { values, positionals } = parseCommandArgs(name, args, { "data-dir": { type: "string" }, global: { type: "boolean" } }, 2);
      const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
      const expected = values.global ? 1 : 2;
      if (positionals.length !== expected) {
        throw new ChatbotError(
          "E_USAGE",
          `chatbot ${name}: give ${values.global ? "the origin only" : "the bot's address and the origin"}, e.g. chatbot ${name} ${values.global ? "--global " : "echobot01@chat.example.org "}https://api.example.org`,
        );
      }
      const origin = positionals[expected - 1]!;
      if (approve) {
        const fault = checkOrigin(origin);
        if (fault) throw new ChatbotError("E_USAGE", `chatbot ${name}: "${origin}" ${fault}`);
      }

      if (values.global) {
        let changed = false;
        await editGlobalOrigins(dataDir, (origins) => {
          changed = approve ? !origins.includes(origin) : origins.includes(origin);
          return approve ? (changed ? [...origins, origin] : origins) : origins.filter((o) => o !== origin);
        });
        const done = approve ? `approved ${origin} for all bots` : `revoked the approval of ${origin} for all bots`;
        io.stdout(
          changed
            ? `${done} in host.json; restart 'chatbot host serve' to apply it\n`
            : `${origin} was ${approve ? "already" : "not"} approved for all bots; nothing changed\n`,
        );
        return EXIT.ok;
      }

      const addr = installedAddress(name, dataDir, positionals[0]);
      if (approve) {
        const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
        const { manifest } = await readBundleFolder(hostPaths(dataDir).bot(addr).current, config);
        if (!manifest.origins.includes(origin)) {
          const asked = manifest.origins.length ? `it asks for ${manifest.origins.join(", ")}` : "it asks for none";
          throw new ChatbotError(
            "E_USAGE",
            `chatbot ${name}: ${manifest.name} ${manifest.version} at ${addr} does not ask for ${origin} in its manifest (${asked}); an approval would have no effect`,
          );
        }
      }
      let changed = false;
      await editBotJson(dataDir, addr, (settings) => {
        const origins = stringList(settings.approvedOrigins);
        changed = approve ? !origins.includes(origin) : origins.includes(origin);
        settings.approvedOrigins = approve ? (changed ? [...origins, origin] : origins) : origins.filter((o) => o !== origin);
      });
      if (!changed) {
        io.stdout(`${origin} was ${approve ? "already" : "not"} approved for ${addr}; nothing changed\n`);
        return EXIT.ok;
      }
      let note = "";
      if (!approve) {
        const config = await loadHostConfig(hostPaths(dataDir).config, dataDir);
        if (config.approvedOrigins.includes(origin)) note = ` (it stays approved for all bots in host.json: see --global)`;
      }
      io.stdout(`${approve ? "approved" : "revoked"} ${origin} for ${addr}${note}\n`);
      return EXIT.ok;
    },
  };
}

export const hostBotsApproveOriginCommand = originCommand("approve");
export const hostBotsRevokeOriginCommand = originCommand("revoke");
