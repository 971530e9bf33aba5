// `chatbot host serve`: the host service — LMTP door, spool drain into the sandbox, SMTP out.
import { resolve } from "node:path";
import { errorMessage } from "../../../core/errors.js";
import { loadHostConfig } from "../../service/host-config.js";
import { hostLogger } from "../../service/host-logger.js";
import { HostMetrics } from "../../service/metrics.js";
import { FailingBots } from "../../service/failing-bots.js";
import type { HostLog } from "../../service/host-event.js";
import type { NoticeKind } from "../../service/author-notices.js";
import { StopStack } from "../../service/stop-stack.js";
import { dataDirFrom, hostPaths } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";
import { setFlagsFromString } from "node:v8";
import { ChatbotError } from "../../../core/errors.js";

const HELP = `Usage: chatbot host serve [--data-dir DIR] [--once] [--no-lmtp] [--metrics-file FILE]

Run the host service: listen for the bots' mail on the LMTP socket of host.json (Postfix
'lmtp:unix:' transport; 'chatbot host deliver' feeds the same spool), run each mail's event in
the sandbox, and submit the bots' replies over SMTP as the bot accounts. Hourly and daily ticks
run here too, and so do deploys: every imap.pollSeconds (host.json, default 300) it logs in to
each bot's account over IMAP, installs what 'chatbot deploy' put into its ChatbotInstall folder
(install.deployed / install.refused), and at least daily logs in anyway (account.refreshed), so
chatmail never expires the account. Each bot's state is copied into its account's ChatbotState
folder a few seconds after it changes (state.mirrored), and a bot whose state.json is missing
gets it back from there before its first event (state.restored). Nothing is lost on a crash: a mail leaves the spool only after its replies were
accepted, and a restart resumes where it stopped.

One 'host serve' per data directory: it holds a lock on DIR/serve.lock (flock) while it runs, and
a second one, --once too, exits with the holder's pid. A service that cannot start (the LMTP
socket's folder missing, its group wrong) closes what it opened and exits non-zero with the reason.

Logs are JSON lines on stdout and in DIR/logs/host.jsonl. SIGTERM/SIGINT stop it after the
event in progress. Prometheus counters (events, CPU ms, mails, refusals, spool) are written
to DIR/metrics.prom every 10 s and on stop, for node_exporter's textfile collector.

Options:
  --data-dir DIR  the host's data directory (default: $CHATBOT_DATA_DIR or /var/lib/chatbot)
  --once          drain what is in the spool now, then exit (no LMTP)
  --no-lmtp       do not listen for LMTP (mail arrives through 'chatbot host deliver' only)
  --metrics-file FILE  write the metrics here instead (e.g. into node_exporter's
                  --collector.textfile.directory; the name must end in .prom)
  -h, --help      show this help

Example:
  chatbot host serve --data-dir /var/lib/chatbot
`;

/**
 * V8's --optimize-for-size for the serve process: the heap grows in smaller steps and is collected
 * sooner. Measured with the idle bench (issue 15): 10 000 installed bots added 43 MiB to host serve
 * + runner RSS over 1 bot without it, 17 MiB with it; the garbage of the start-up scan stayed in
 * the heap. Set here rather than on node's command line so a hand-run `chatbot host serve` gets
 * it too; set before the service allocates anything (V8 reads it at each collection). Not in the
 * pipeline process (--pipeline): it rests when idle, so its heap is gone then anyway, and while it
 * works the flag cost it CPU — 2026-12-06, `service-only.ts`, two interleaved pairs: 16.7–18.0 →
 * 14.2–14.8 ms of its CPU per single mail, bursts within noise (12.1–13.1 → 12.0–12.2).
 */
function preferSmallHeap(): void {
  setFlagsFromString("--optimize-for-size");
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    "host serve",
    args,
    {
      "data-dir": { type: "string" },
      once: { type: "boolean" },
      "no-lmtp": { type: "boolean" },
      "metrics-file": { type: "string" },
      pipeline: { type: "string" },
    },
    0,
  );
  if (values.pipeline === undefined) preferSmallHeap();
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const paths = hostPaths(dataDir);
  const config = await loadHostConfig(paths.config, dataDir);
  const clock = { now: () => Date.now() };
  if (values.pipeline !== undefined) {
    if (values.pipeline !== "first" && values.pipeline !== "again")
      throw new ChatbotError("E_USAGE", "--pipeline is for the process 'host serve' starts itself (first or again); run 'chatbot host serve' instead");
    const { runPipelineProcess } = await import("../../service/pipeline-process.js");
    return runPipelineProcess({ dataDir, spoolDir: paths.spool, config, clock, first: values.pipeline === "first" });
  }
  const metrics = new HostMetrics();
  const logged = hostLogger(paths.logs, io.stdout, metrics);
  // A bot that keeps failing is told to its author (failing-bots.ts), from what the log sees: the
  // counts are kept here, the notice is sent by the pipeline (or, with --once, by this process).
  let notify: (account: string, kind: NoticeKind, text: string) => Promise<void> = async () => {};
  const failing = new FailingBots({ dataDir, clock, notify: (account, kind, text) => notify(account, kind, text) });
  const log: HostLog = (event) => {
    logged(event);
    failing.observe(event);
  };
  const metricsFile = values["metrics-file"] === undefined ? paths.metrics : resolve(io.cwd, values["metrics-file"]);
  // Closed in reverse on every way out: a normal stop, --once, or a start-up that failed half-way.
  const stops = new StopStack();
  try {
    if (values.once) {
      // The service's modules (the mail stack, OpenPGP, the sandbox's executor) load here, not with
      // the command: `chatbot host serve --help` and a bad argument answer in ~0.4 s of CPU, not ~0.8.
      const { openHost } = await import("../../service/host-assembly.js");
      const { authorNoticesFor } = await import("../../service/author-notices.js");
      const notices = authorNoticesFor(dataDir, config, clock, log);
      notify = (account, kind, text) => notices.notify(account, kind, text);
      const host = await openHost({ dataDir, spoolDir: paths.spool, config, clock, log, role: { kind: "once", metrics, metricsFile } }, stops);
      stops.push("failing-bot notices", () => failing.settled());
      const handled = await host.service.drainOnce();
      log({ event: "service.drained", entries: handled });
      return EXIT.ok;
    }
    // The door (LMTP, spool, log, metrics) stays; the pipeline process does the rest and rests when idle.
    const { openDoor } = await import("../../service/serve-door.js");
    const pipeline = await openDoor({ dataDir, spoolDir: paths.spool, config, clock, log, metrics, metricsFile, lmtp: !values["no-lmtp"] }, stops);
    notify = (account, kind, text) => pipeline.notify(account, kind, text);
    await new Promise<void>((resolve) => {
      process.once("SIGTERM", resolve);
      process.once("SIGINT", resolve);
    });
    log({ event: "service.stopping" });
    return EXIT.ok;
  } catch (error) {
    // A service that cannot start exits with the reason (on stderr, from the CLI) after closing
    // all it opened: a supervisor (systemd Restart=) sees the failure instead of a half-started host.
    log({ event: "service.failed", error: errorMessage(error) });
    throw error;
  } finally {
    await stops.unwind((name, error) => log({ event: "service.stop-error", part: name, error: errorMessage(error) }));
  }
}

export const hostServeCommand: Command = { path: ["host", "serve"], summary: "run the host service (LMTP in, sandbox, SMTP out, ticks)", help: HELP, run };
