// `chatbot run [dir] --mail FILE.eml`: one local single-shot event in the real sandbox.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ChatbotError, errorMessage } from "../../../core/errors.js";
import { Executor } from "../../executor/executor.js";
import { parseLocalMail } from "../../local/local-mail.js";
import { buildLocalBot, localEventKey, runLocalEvent, stateFromJson, stateToJson } from "../../local/local-bot.js";
import { openLocalPolicy } from "../../service/bot-policy.js";
import { LocalOutbound } from "../../local/local-outbound.js";
import { costLine, exitCodeFor, printableResult } from "../../local/run-output.js";
import type { GuestEvent } from "../../../std/contract.js";
import { writePrivateFile } from "../../storage/json-file.js";
import { parseCommandArgs } from "../args.js";
import type { CliIo, Command } from "../command.js";

const HELP = `Usage: chatbot run [dir] (--mail FILE.eml | --tick) [options]

Build the bot in [dir] (default: the current folder) and run it once, in the same sandbox, with
the same limits and through the same rules as on the relay, on a plaintext mail (or a schedule
tick). Prints the result as JSON on stdout: {status, actions, refused?, skipped?, error?, limit?,
logs, cpuMs, wallMs, memoryBytes, fetch, stateChanged}. Files the bot sends are shown as
{name, type, size, sha256}; --files DIR saves them.

The mail is parsed by the relay's own parser, so the bot gets the msg a relay would hand it
(Delta Chat's quote, footer and forward header are not part of msg.text). The relay's rules,
as for a freshly installed bot: /stop and /start are answered by the host (status "answered",
with its reply); the manifest's per-user limits apply to this one mail (counted by the mail
file's bytes); the bot may write only to chats that wrote to it — the mail's own chat, and those
given with --known-chat — and its other actions are listed under "refused" with the relay's code
(E_NO_CONSENT, E_STOPPED); an action the relay's outbound rules skip is listed under "skipped"
with its code (E_NOT_SENT, E_OTHER_CHAT: a delete or resend of a message the bot did not send in
this run; E_ALREADY_MEMBER). A mail a relay drops without running the bot (an automatic response,
a deletion, a group change) exits 65 with E_MAIL_DROPPED. The relay operator's CPU budget for
the whole bot is not applied.

Options:
  --mail FILE          the incoming mail (RFC 5322, plaintext; see sample.eml)
  --tick               run the bot's tick handler instead of a message
  --state FILE         bot.state as a JSON object; read before and written back after an ok run
  --allow-origin URL   also allow fetch to this origin (repeatable; the manifest's origins
                       are allowed in local runs)
  --allow-http-loopback  let fetch use http:// to allowed loopback origins (for tests)
  --files DIR          save files the bot sends into DIR
  --known-chat CHAT    a chat that wrote to the bot before (an address, or group:<id>), so the
                       bot may write to it (repeatable; e.g. for a --tick run)
  -h, --help           show this help

Exit codes: 0 ok · 1 the bot threw · 2 a limit was hit (cpu, wall, memory, output) · 3 the
sandbox crashed on the bot's event (E_RUNNER, e.g. memory exhausted outside the QuickJS heap;
on the relay such a mail is tried once more, then dead-lettered) · 64 usage · 65 bad manifest,
build or mail · 66 file not found

Example:
  chatbot run --mail sample.eml --state state.json
`;

/**
 * The name a sent file is saved under in --files DIR: only a base name, since a bot must not choose
 * where on the author's disk a file lands. "", "." and ".." would name DIR or its parent, so they
 * (and any all-dots name) become file-<n>; NUL, which no file name may hold, becomes "_".
 */
function savedFileName(name: string, index: number): string {
  const base = name.replace(/[/\\\0]/g, "_");
  return /^\.*$/.test(base) ? `file-${index + 1}` : base;
}

async function readInput(path: string, what: string): Promise<Buffer> {
  if (!existsSync(path)) throw new ChatbotError("E_NOT_FOUND", `${what} ${path} does not exist`);
  return readFile(path);
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "run",
    args,
    {
      mail: { type: "string" },
      tick: { type: "boolean" },
      state: { type: "string" },
      "allow-origin": { type: "string", multiple: true },
      "allow-http-loopback": { type: "boolean" },
      files: { type: "string" },
      "known-chat": { type: "string", multiple: true },
    },
    1,
  );
  if (values.mail === undefined && !values.tick) {
    throw new ChatbotError("E_USAGE", "chatbot run: give --mail FILE.eml (or --tick). See 'chatbot run --help'.");
  }
  if (values.mail !== undefined && values.tick) {
    throw new ChatbotError("E_USAGE", "chatbot run: --mail and --tick exclude each other. See 'chatbot run --help'.");
  }
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  const bot = await buildLocalBot(dir);

  let event: GuestEvent;
  let attachments: Uint8Array[] = [];
  let mailBytes: number | undefined;
  let eventKey: string | undefined;
  if (values.mail !== undefined) {
    const raw = await readInput(resolve(io.cwd, values.mail), "mail file");
    mailBytes = raw.byteLength;
    // The relay's parser and mapping: the bot gets the `msg` a relay would hand it for this mail.
    const parsed = await parseLocalMail(raw);
    event = parsed.event;
    attachments = parsed.attachments;
    eventKey = parsed.key;
  } else {
    event = { kind: "tick", at: Date.now() };
  }

  const statePath = values.state === undefined ? undefined : resolve(io.cwd, values.state);
  let state: Record<string, string> = {};
  if (statePath && existsSync(statePath)) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(statePath, "utf8"));
    } catch (error) {
      throw new ChatbotError("E_USAGE", `chatbot run: --state ${values.state} is not valid JSON (${errorMessage(error)})`);
    }
    try {
      state = stateFromJson(json, values.state!);
    } catch (error) {
      throw new ChatbotError("E_USAGE", `chatbot run: ${errorMessage(error)}`);
    }
  }

  // A fresh bot's consent and usage, as on a relay that just installed it: the mail's sender and
  // chat are noted when it is admitted; --known-chat adds chats that wrote before.
  const nowMs = Date.now();
  const policy = openLocalPolicy(bot.perUser, { now: () => nowMs });
  for (const chat of values["known-chat"] ?? []) await policy.consent.noteIncoming(chat, chat);
  const owned = io.executor ? undefined : new Executor();
  const executor = io.executor ?? owned!;
  try {
    // A crashed runner rejects with E_RUNNER: exit 3 (run-command.ts), the bot's failure like 1 and 2.
    const outcome = await runLocalEvent(executor, bot, event, {
      state,
      policy,
      // A fresh bot has sent nothing yet: a delete or resend names a message of this event or none.
      outbound: new LocalOutbound(),
      nowMs,
      eventKey: eventKey ?? localEventKey(event, nowMs),
      attachments,
      // The relay counts the mail's bytes against limits.perUser.bytesPerHour: here, the file's.
      ...(mailBytes !== undefined ? { bytes: mailBytes } : {}),
      extraOrigins: values["allow-origin"] ?? [],
      fetch: { allowHttpLoopback: values["allow-http-loopback"] ?? false },
    });
    if (statePath && outcome.kind === "ran" && outcome.state) {
      // A fresh file renamed over the old (durably): an existing state file becomes private too
      // (writeFile's mode applies only to a new file), and a crash never leaves half a file.
      await writePrivateFile(statePath, `${JSON.stringify(stateToJson(outcome.state), null, 2)}\n`);
    }
    if (values.files !== undefined && outcome.kind === "ran") {
      const filesDir = resolve(io.cwd, values.files);
      await mkdir(filesDir, { recursive: true });
      for (const [position, action] of outcome.kept.entries()) {
        const index = outcome.indices[position]!;
        if ((action.type === "reply" || action.type === "send") && action.file)
          await writeFile(join(filesDir, savedFileName(action.file.name, index)), Buffer.from(action.file.dataBase64, "base64"));
      }
    }
    io.stdout(`${JSON.stringify(printableResult(outcome), null, 2)}\n`);
    io.stderr(`${costLine(outcome)}\n`);
    return exitCodeFor(outcome);
  } finally {
    await owned?.close();
  }
}

export const runCommand: Command = {
  path: ["run"],
  summary: "run the bot once on a mail file (or a tick) in the real sandbox",
  help: HELP,
  run,
};
