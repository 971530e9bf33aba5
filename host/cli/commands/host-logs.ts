// `chatbot host logs [BOT]`: the last lines of the host's log, for one bot or all, and --follow.
import { ChatbotError } from "../../../core/errors.js";
import { LOG_TAIL_BYTES } from "../../../core/limits.js";
import { followLog, readLogTail } from "../../service/log-file.js";
import { lineBot, lineTime, numberField, parseLogLine, stringField, type LogRecord } from "../../service/log-lines.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

/** How often --follow looks at the log's size, ms. */
const FOLLOW_POLL_MS = 500;

const HELP = `Usage: chatbot host logs [BOT] [-n N] [--json] [--follow] [--data-dir DIR]

Print the last N events of the host's log (DIR/logs/host.jsonl), of one bot (its address) or
of all, one line each: time, bot, event, status or reason, CPU ms, sender, error. Only the
last ${LOG_TAIL_BYTES / 1024 / 1024} MiB of the file are searched; use jq or grep on the file for older lines.

Options:
  -n, --lines N   how many lines (default 50; 0 with --follow prints only new lines)
  --json          print the log's JSON lines as they are
  --follow        keep printing new lines as the service writes them, until Ctrl-C
  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  -h, --help      show this help

Example:
  chatbot host logs echobot01@chat.example.org -n 20 --follow
`;

/** One log line for a person: time, bot, event, then what is known of status, cost, sender, error. */
function formatLogRecord(line: LogRecord): string {
  const at = lineTime(line);
  const status = stringField(line, "status") ?? stringField(line, "reason");
  const cpuMs = numberField(line, "cpuMs");
  const from = stringField(line, "from");
  const code = stringField(line, "error");
  const message = stringField(line, "message");
  const error = code && message ? `${code}: ${message}` : (code ?? message);
  return [
    at === undefined ? "-" : new Date(at).toISOString(),
    lineBot(line) ?? "-",
    line.event,
    status,
    cpuMs === undefined ? undefined : `${cpuMs} ms`,
    from === undefined || from === "" ? undefined : `from ${from}`,
    error === undefined ? undefined : `error ${error}`,
  ]
    .filter((part) => part !== undefined)
    .join("  ");
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "host logs",
    args,
    { lines: { type: "string", short: "n" }, json: { type: "boolean" }, follow: { type: "boolean" }, "data-dir": { type: "string" } },
    1,
  );
  const count = values.lines === undefined ? 50 : Number(values.lines);
  if (!Number.isInteger(count) || count < 0) throw new ChatbotError("E_USAGE", `chatbot host logs: -n must be a whole number ≥ 0, not "${values.lines}"`);
  const bot = positionals[0]?.toLowerCase();
  const file = hostPaths(dataDirFrom(io.cwd, values["data-dir"])).logFile;

  /** The lines to print, as they will be printed. */
  const select = (lines: readonly string[]): string[] => {
    const out: string[] = [];
    for (const text of lines) {
      const line = parseLogLine(text);
      if (!line || (bot !== undefined && lineBot(line) !== bot)) continue;
      out.push(values.json ? text : formatLogRecord(line));
    }
    return out;
  };
  const print = (lines: readonly string[]) => {
    if (lines.length) io.stdout(`${lines.join("\n")}\n`);
  };

  const tail = await readLogTail(file, LOG_TAIL_BYTES);
  print(count === 0 ? [] : select(tail.lines).slice(-count));
  if (!values.follow) return EXIT.ok;

  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  try {
    await followLog(file, tail.end, (lines) => print(select(lines)), { signal: stop.signal, pollMs: FOLLOW_POLL_MS });
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
  return EXIT.ok;
}

export const hostLogsCommand: Command = { path: ["host", "logs"], summary: "print or follow the host's log, for one bot or all", help: HELP, run };
