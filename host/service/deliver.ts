// The pipe door (`chatbot host deliver ADDR`, DESIGN §2b): one mail on stdin for one bot, into the
// spool, answered with a sysexits code (DESIGN §3.4) that Postfix pipe(8), Sieve or .forward act on.
// It runs once per mail, so it must start fast: this file and everything it imports use only node:
// modules, the spool, paths, limits and errors — never QuickJS, openpgp, mailparser or undici
// (test/cli/host-deliver.test.ts walks the compiled import graph to hold that).
import { accessSync, constants } from "node:fs";
import { isChatbotError, errorMessage } from "../../core/errors.js";
import { Spool, type MailSource, type SpoolEntry } from "../spool/spool.js";
import { checkMailShape } from "./mail-shape.js";
import { hostPaths, isInstalledBot } from "./paths.js";
import type { Clock } from "../../core/clock.js";

/** The exit codes of `host deliver` (sysexits.h; DESIGN §3.4). */
export const DELIVER_EXIT = Object.freeze({
  /** Spooled durably. */
  spooled: 0,
  /** EX_DATAERR: malformed input that can never succeed (empty, oversize, not a mail). Postfix bounces. */
  malformed: 65,
  /** EX_NOUSER: the address is not a bot of this host. Postfix bounces. */
  noSuchBot: 67,
  /** EX_TEMPFAIL: anything else (disk full, spool not writable, a bug). Postfix keeps the mail and retries. */
  tempFail: 75,
});

/** What happened: the exit code, and for a non-zero code the one line that says why. */
export type DeliverOutcome = { code: 0; entry: SpoolEntry } | { code: 65 | 67 | 75; reason: string };

/** What one delivery needs. */
export interface DeliverRequest {
  dataDir: string;
  addr: string;
  /** The raw mail (stdin). */
  input: AsyncIterable<Uint8Array>;
  maxBytes: number;
  clock: Clock;
}

/** Spool one mail for one bot; never throws — every failure becomes an outcome with a reason. */
export async function deliverMail(request: DeliverRequest): Promise<DeliverOutcome> {
  const { dataDir, addr } = request;
  try {
    if (!isInstalledBot(dataDir, addr)) {
      // A bots/ folder we cannot read (wrong --data-dir, permissions) must not bounce every mail:
      // that is the operator's problem to fix while Postfix keeps the mail.
      const bots = hostPaths(dataDir).bots;
      try {
        accessSync(bots, constants.R_OK | constants.X_OK);
      } catch (error) {
        return {
          code: DELIVER_EXIT.tempFail,
          reason: `cannot read the bots folder ${bots} (${(error as NodeJS.ErrnoException).code ?? "error"}); is --data-dir right?`,
        };
      }
      return { code: DELIVER_EXIT.noSuchBot, reason: `${addr} is not a bot of this host` };
    }
    const spool = new Spool(hostPaths(dataDir).spool, request.clock);
    const source: MailSource = checkMailShape(request.input);
    const entry = await spool.write(addr, source, request.maxBytes);
    return { code: DELIVER_EXIT.spooled, entry };
  } catch (error) {
    if (isChatbotError(error, "E_MAIL_TOO_LARGE") || isChatbotError(error, "E_MAIL_MALFORMED")) {
      return { code: DELIVER_EXIT.malformed, reason: error.message };
    }
    const message = errorMessage(error);
    return { code: DELIVER_EXIT.tempFail, reason: `cannot spool the mail, try again later: ${message.split("\n")[0]}` };
  }
}
