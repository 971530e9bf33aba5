// `chatbot host deliver ADDR`: the pipe door. main.ts loads this file on its own, before the command
// registry, so a delivery pays only for node: modules and the spool (DESIGN §2: it must start fast).
import { read } from "node:fs";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { deliverMail, DELIVER_EXIT } from "../../service/deliver.js";
import { DEFAULT_DATA_DIR, dataDirFrom } from "../../service/paths.js";
import { errorMessage } from "../../../core/errors.js";

const HELP = `Usage: chatbot host deliver ADDR [--data-dir DIR] < mail.eml

Store one incoming mail for the bot ADDR in the host's spool, where 'chatbot host serve' picks it
up. The raw mail is read from standard input. This is the pipe-to-program door for Postfix pipe(8),
a Sieve 'pipe' or a .forward file; relays that can, use the LMTP socket of 'host serve' instead
(no process per mail). The mail is acknowledged only once it is durably on disk (written, fsynced,
renamed into the spool, the folder fsynced).

Exit codes (sysexits; one line on stderr says why for every non-zero code):
  0   spooled
  65  the input can never be delivered: empty, larger than ${MAIL_MAX_BYTES} bytes, or not a mail
      (the first line is not a header field, or no empty line ends the header within 1 MiB)
  67  ADDR is not a bot of this host (no bots/ADDR/bot.json in the data folder)
  75  temporary failure, try again later: the spool is not writable, the disk is full, the data
      folder cannot be read, a usage error in the command line, any unexpected error. Postfix keeps
      the mail in its queue and retries.

Options:
  --data-dir DIR   the host's data folder (default: $CHATBOT_DATA_DIR or ${DEFAULT_DATA_DIR}); use an
                   absolute path: pipe(8) runs the command with an almost empty environment
  -h, --help       show this help

Example (Postfix master.cf; the service runs as the host user, one recipient per delivery). The
installed package's lib/deliver.cjs is this command bundled into one file: it starts faster than
the chatbot binary and takes the same arguments:
  chatbot unix - n n - - pipe
    flags=Rq user=chatbot argv=/usr/bin/node /opt/chatbot/lib/deliver.cjs --data-dir /var/lib/chatbot \${recipient}
`;

/** Bytes read from stdin per system call (a pipe holds 64 KiB; a file or socket can give more). */
const STDIN_CHUNK_BYTES = 256 * 1024;

/**
 * Standard input read straight from fd 0: `process.stdin` would first build a stream for the fd's
 * kind (net/tty/fs), ~3 ms of the start-up that DESIGN §2 asks to keep small. A non-blocking fd
 * (EAGAIN) hands the rest over to process.stdin, which can wait for it.
 */
async function* readStdin(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buffer = Buffer.allocUnsafe(STDIN_CHUNK_BYTES);
    let bytesRead: number;
    try {
      bytesRead = await new Promise<number>((resolve, reject) => read(0, buffer, 0, buffer.length, null, (error, n) => (error ? reject(error) : resolve(n))));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      yield* process.stdin;
      return;
    }
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

/** One line for stderr: Postfix copies it into the bounce or the deferral log. */
function say(io: CliIo, reason: string): void {
  io.stderr(`chatbot host deliver: ${reason.replace(/[\r\n]+/g, " ")}\n`);
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  let addr: string | undefined;
  let dataFlag: string | undefined;
  try {
    const { values, positionals } = parseCommandArgs("host deliver", args, { "data-dir": { type: "string" } }, 1);
    addr = positionals[0];
    dataFlag = values["data-dir"];
  } catch (error) {
    // A broken command line is the operator's to fix: the mail waits in Postfix's queue meanwhile.
    say(io, errorMessage(error));
    return DELIVER_EXIT.tempFail;
  }
  if (addr === undefined || addr === "") {
    say(io, "give the bot's address: chatbot host deliver ADDR < mail");
    return DELIVER_EXIT.tempFail;
  }
  const outcome = await deliverMail({
    dataDir: dataDirFrom(io.cwd, dataFlag),
    addr,
    input: io.stdin ?? readStdin(),
    maxBytes: MAIL_MAX_BYTES,
    clock: { now: () => Date.now() },
  });
  if (outcome.code !== EXIT.ok) say(io, outcome.reason);
  return outcome.code;
}

export const hostDeliverCommand: Command = {
  path: ["host", "deliver"],
  summary: "store one mail from stdin for bot ADDR in the spool (Postfix pipe; sysexits codes)",
  help: HELP,
  run,
};
