// `chatbot dev [dir]`: chat with the bot in the terminal. Every line is a message event in the
// real sandbox with the manifest's limits; the bot is rebuilt when its files change.
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Executor } from "../../executor/executor.js";
import { parseCommand } from "../../mail/command.js";
import { toChat } from "../../testing/test-events.js";
import { LOCAL_BOT_ADDR, buildLocalBot, localEventKey, runLocalEvent, type LocalBot } from "../../local/local-bot.js";
import { costLine } from "../../local/run-output.js";
import { stableMessageId } from "../../wire/message-id.js";
import { isChatbotError } from "../../../core/errors.js";
import type { Action, GuestEvent } from "../../../std/contract.js";
import { openLocalPolicy } from "../../service/bot-policy.js";
import { LocalOutbound } from "../../local/local-outbound.js";
import { parseLocalMail, type LocalMail } from "../../local/local-mail.js";
import { deliveredChatText } from "../../wire/mime/chat-text.js";
import type { ConsentCode } from "../../policy/consent.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot dev [dir] [--allow-origin URL]... [--allow-http-loopback]

Chat with the bot in [dir] (default: the current folder) in the terminal. Each line you type is
a message to the bot, run in the real sandbox with the limits of its manifest and through the
relay's rules; the bot's replies are printed with each event's cpu/wall/memory and any limit hit.
The bot is rebuilt when a file in the folder changes; bot.state lives in memory for the session.

As on a relay: /stop and /start are answered by the host, the manifest's per-user limits count
your messages (a refusal is printed as the host's notice), and the bot may write only to chats
that wrote to it (you, and each /group you spoke in) — other actions are printed as refused,
with the relay's code (E_NO_CONSENT, E_STOPPED). Actions the relay's outbound rules skip are
printed as skipped with the relay's code (E_NOT_SENT, E_OTHER_CHAT: a delete or resend of a
message the bot did not send this session; E_ALREADY_MEMBER; E_STOPPED). /mail FILE.eml is
parsed by the relay's own parser, so the bot gets the msg a relay would hand it.

Lines dev handles itself (everything else, including other /commands, goes to the bot):
  /tick              run the bot's tick handler now
  /file PATH [text]  send a file (with optional text)
  /group NAME text   say text in the group chat NAME (1:1 otherwise)
  /mail FILE.eml     send a mail file (RFC 5322, plaintext; see sample.eml), as chatbot run --mail
  /webxdc JSON       send a webxdc status update with payload JSON to the last .xdc app
                     the bot sent (/webxdc <id> JSON for another one; ids are shown)
  /state             show bot.state
  /quit              leave (or Ctrl-D)

Options:
  --allow-origin URL     also allow fetch to this origin (repeatable)
  --allow-http-loopback  let fetch use http:// to allowed loopback origins (for tests)
  -h, --help             show this help

Example:
  chatbot dev
`;

/** Input of the dev loop; injected so tests drive it without a terminal. */
export interface DevInput {
  input: Readable;
  /** Watch the folder for changes (off in tests that do not need it). */
  watch: boolean;
}

/** A consent code in words, for the refused lines. */
const CONSENT_WORDS: Record<ConsentCode, string> = {
  E_NO_CONSENT: "that chat has not written to the bot",
  E_STOPPED: "that person sent /stop",
};

function describeActions(actions: readonly Action[]): string[] {
  return actions.map((action) => {
    switch (action.type) {
      case "reply":
      case "send": {
        const file = action.file ? ` [file ${action.file.name}, ${action.file.type}, ${action.file.size} bytes]` : "";
        const to = action.type === "send" ? ` (to ${action.chatId})` : "";
        return `bot${to}: ${action.text}${file}`;
      }
      case "webxdc-status":
        return `bot (to ${action.chatId}): webxdc update for ${action.instanceId}: ${JSON.stringify(action.update)}`;
      case "react":
        return `bot (in ${action.chatId}): reaction ${action.emoji === "" ? "removed" : action.emoji} on ${action.messageId}`;
      case "delete":
      case "resend":
        return `bot (in ${action.chatId}): ${action.type} ${action.messageId}`;
      case "add-member":
        return `bot (in ${action.chatId}): adds ${action.addr} to the group`;
    }
  });
}

/** Run the dev loop until the input ends or /quit. */
export async function devLoop(dir: string, io: CliIo, input: DevInput, origins: { extra: string[]; httpLoopback: boolean }): Promise<number> {
  const owned = io.executor ? undefined : new Executor();
  const executor = io.executor ?? owned!;
  let bot: LocalBot | undefined;
  let buildError: string | undefined;
  let state: Record<string, string> = {};
  let counter = 0;
  const rebuild = async () => {
    try {
      bot = await buildLocalBot(dir);
      buildError = undefined;
    } catch (error) {
      buildError = isChatbotError(error) ? `${error.code}: ${error.message}` : String(error);
    }
  };
  await rebuild();
  if (!bot) {
    io.stderr(`build failed: ${buildError}\n`);
    await owned?.close();
    return EXIT.dataError;
  }
  // The session's consent and per-user usage, in memory like bot.state: "you" write first, as on a relay.
  const policy = openLocalPolicy(bot.perUser, { now: () => Date.now() });
  // What the relay's sent and group stores would hold after this session's events.
  const outbound = new LocalOutbound();
  io.stdout(
    `chatting with ${bot.manifest.name} ${bot.manifest.version} — type a message, /tick, /file PATH, /group NAME text, /mail FILE.eml, /webxdc JSON, /state or /quit\n`,
  );
  // The webxdc apps the bot sent, newest last: what /webxdc answers.
  const apps: string[] = [];

  let watcher: FSWatcher | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;
  if (input.watch) {
    watcher = watch(dir, { recursive: true }, (_event, file) => {
      const name = String(file ?? "");
      if (name.startsWith("dist") || name.startsWith("node_modules") || basename(name).startsWith(".")) return;
      clearTimeout(reloadTimer);
      // Editors write in bursts; rebuild once they are done (100 ms).
      reloadTimer = setTimeout(async () => {
        await rebuild();
        io.stdout(buildError ? `reload failed: ${buildError}\n` : `reloaded ${bot!.manifest.name}\n`);
      }, 100);
    });
  }

  // `mail`: a mail file's own event key and size (a typed line's are derived from it).
  const runEvent = async (event: GuestEvent, attachments: Uint8Array[] = [], mail?: { key: string; bytes: number }) => {
    if (buildError || !bot) return io.stdout(`(not run: the last build failed: ${buildError})\n`);
    const nowMs = Date.now();
    const eventKey = mail?.key ?? localEventKey(event, nowMs);
    // The relay's rules with the session's consent and usage (in memory); a rebuilt manifest's limits apply at once.
    const outcome = await runLocalEvent(executor, bot, event, {
      state,
      policy: { ...policy, perUser: bot.perUser },
      outbound,
      nowMs,
      eventKey,
      attachments,
      ...(mail ? { bytes: mail.bytes } : {}),
      extraOrigins: origins.extra,
      fetch: { allowHttpLoopback: origins.httpLoopback },
    });
    if (outcome.kind !== "ran") {
      if (outcome.kind === "answer") io.stdout(outcome.text ? `host: ${outcome.text}\n` : "(no answer)\n");
      io.stdout(`  ${costLine(outcome)}\n`);
      return;
    }
    const { result, kept, indices, refused, skipped } = outcome;
    for (const [position, line] of describeActions(kept).entries()) {
      const action = kept[position]!;
      const app = (action.type === "reply" || action.type === "send") && action.file?.name.toLowerCase().endsWith(".xdc");
      const id = app ? stableMessageId(LOCAL_BOT_ADDR, eventKey, indices[position]!) : undefined;
      if (id) apps.push(id);
      io.stdout(`${line}${id ? ` — webxdc app ${id}` : ""}\n`);
    }
    for (const action of refused) io.stdout(`  refused ${action.type} to ${action.addr ?? action.chatId}: ${action.code} (${CONSENT_WORDS[action.code]})\n`);
    for (const action of skipped) io.stdout(`  skipped ${action.type} in ${action.chatId}: ${action.code} (${action.reason})\n`);
    for (const log of result.logs) io.stdout(`  log ${log.level}: ${log.text}\n`);
    if (result.error) io.stdout(`  error ${result.error.code}: ${result.error.message}\n${result.error.stack ? `${result.error.stack}\n` : ""}`);
    if (outcome.state) state = outcome.state;
    io.stdout(`  ${costLine(outcome)}\n`);
  };

  // /mail FILE.eml: the relay's parser and mapping (local/local-mail.ts); a mail a relay drops is reported, not run.
  const runMailFile = async (path: string) => {
    if (!path) return io.stdout("usage: /mail FILE.eml\n");
    let raw: Buffer;
    try {
      raw = await readFile(resolve(io.cwd, path));
    } catch {
      return io.stdout(`cannot read ${path}\n`);
    }
    let mail: LocalMail;
    try {
      mail = await parseLocalMail(raw);
    } catch (error) {
      if (!isChatbotError(error)) throw error;
      return io.stdout(`host: ${error.code}: ${error.message}\n`);
    }
    await runEvent(mail.event, mail.attachments, { key: mail.key, bytes: raw.byteLength });
  };

  const lines = createInterface({ input: input.input, terminal: false });
  try {
    for await (const raw of lines) {
      const line = raw.trimEnd();
      if (line === "") continue;
      const own = parseCommand(line);
      if (own?.name === "quit") break;
      if (own?.name === "tick") {
        await runEvent({ kind: "tick", at: Date.now() });
        continue;
      }
      if (own?.name === "state") {
        io.stdout(`${JSON.stringify(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, JSON.parse(v)])), null, 2)}\n`);
        continue;
      }
      if (own?.name === "mail") {
        await runMailFile(own.args);
        continue;
      }
      counter += 1;
      const id = `<dev-${counter}@chatbot.local>`;
      const from = { addr: "you@chatbot.local", name: "You" };
      let chat: { id: string; type: "single" | "group"; name: string } = { id: from.addr, type: "single", name: "You" };
      let text = line;
      if (own?.name === "webxdc") {
        const match = /^(<[^<>\s]+>)?\s*([\s\S]*)$/.exec(own.args)!;
        const instanceId = match[1] ?? apps.at(-1);
        if (!instanceId) {
          io.stdout("no webxdc app yet: the bot has to send a .xdc first (or give its id: /webxdc <id> JSON)\n");
          continue;
        }
        let payload: unknown;
        try {
          payload = JSON.parse(match[2]!.trim() || "null");
        } catch {
          io.stdout('usage: /webxdc [<id>] JSON  (the payload must be JSON, e.g. {"vote":1})\n');
          continue;
        }
        await runEvent({ kind: "webxdc", update: { instanceId, from, chat, payload } });
        continue;
      }
      if (own?.name === "group") {
        const [name, ...words] = own.args.split(/\s+/);
        if (!name || words.length === 0) {
          io.stdout("usage: /group NAME text\n");
          continue;
        }
        chat = toChat(name, from);
        text = words.join(" ");
      }
      if (own?.name === "file") {
        const [path, ...words] = own.args.split(/\s+/);
        if (!path) {
          io.stdout("usage: /file PATH [text]\n");
          continue;
        }
        let bytes: Buffer;
        try {
          bytes = await readFile(resolve(io.cwd, path));
        } catch {
          io.stdout(`cannot read ${path}\n`);
          continue;
        }
        const text = deliveredChatText(words.join(" "));
        const command = parseCommand(text);
        await runEvent(
          {
            kind: "message",
            message: {
              id,
              text,
              from,
              chat,
              attachments: [{ name: basename(path), type: "application/octet-stream", size: bytes.byteLength }],
              ...(command ? { command } : {}),
              date: Date.now(),
            },
          },
          [new Uint8Array(bytes)],
        );
        continue;
      }
      // What a Delta Chat client's message with this text reaches a relay's bot as.
      const delivered = deliveredChatText(text);
      const command = parseCommand(delivered);
      await runEvent({ kind: "message", message: { id, text: delivered, from, chat, attachments: [], ...(command ? { command } : {}), date: Date.now() } });
    }
  } finally {
    clearTimeout(reloadTimer);
    watcher?.close();
    lines.close();
    await owned?.close();
  }
  return EXIT.ok;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "dev",
    args,
    { "allow-origin": { type: "string", multiple: true }, "allow-http-loopback": { type: "boolean" } },
    1,
  );
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  return devLoop(dir, io, { input: process.stdin, watch: true }, { extra: values["allow-origin"] ?? [], httpLoopback: values["allow-http-loopback"] ?? false });
}

export const devCommand: Command = {
  path: ["dev"],
  summary: "chat with the bot in the terminal (real sandbox, hot reload, /tick)",
  help: HELP,
  run,
};
