// `chatbot host serve`: the host service — LMTP door, spool drain into the sandbox, SMTP out.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Executor } from "../../executor/executor.js";
import { MAIL_MAX_BYTES, STATE_MIRROR_INTERVAL_MS } from "../../../core/limits.js";
import { Spool } from "../../spool/spool.js";
import { createSmtpSubmitter } from "../../wire/smtp-submit.js";
import { loadHostConfig } from "../../service/host-config.js";
import { HostMetrics, METRICS_INTERVAL_MS, spoolGauges, writeMetricsFile } from "../../service/metrics.js";
import { HostService } from "../../service/host-service.js";
import { DeployWatcher } from "../../service/deploy-watcher.js";
import { openDeployMailbox, openFolderMailbox } from "../../deploy/imap-mailbox.js";
import { STATE_FOLDER, STATE_HEADER, StateMirror } from "../../service/state-mirror.js";
import { startLmtpServer } from "../../service/lmtp-server.js";
import { openLogAppender } from "../../service/log-appender.js";
import { boundLogLine } from "../../service/bound-log-line.js";
import { lockDataDir } from "../../service/data-dir-lock.js";
import { StopStack } from "../../service/stop-stack.js";
import { groupId } from "../../service/unix-groups.js";
import { logLine, type HostEvent } from "../../service/host-event.js";
import { dataDirFrom, hostPaths, isInstalledBot } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";
import { errorMessage } from "../../../core/errors.js";

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

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs("host serve", args, { "data-dir": { type: "string" }, once: { type: "boolean" }, "no-lmtp": { type: "boolean" }, "metrics-file": { type: "string" } }, 0);
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const paths = hostPaths(dataDir);
  const config = await loadHostConfig(paths.config, dataDir);
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
  // Open for the life of the process (closed by its exit): late lines (metrics, stop) still land.
  const logFile = openLogAppender(join(paths.logs, "host.jsonl"));
  const metrics = new HostMetrics();
  // The one logger: every part writes its events through it, and the metrics count them.
  const log = (event: HostEvent) => {
    const text = `${JSON.stringify({ at: new Date().toISOString(), ...boundLogLine(logLine(event)) })}\n`;
    io.stdout(text);
    logFile.append(text);
    metrics.observe(event);
  };
  const clock = { now: () => Date.now() };
  // Closed in reverse on every way out: a normal stop, --once, or a start-up that failed half-way.
  const stops = new StopStack();
  try {
    // Before anything reads the spool: one host serve per data directory (service/data-dir-lock.ts).
    const lock = await lockDataDir(dataDir);
    stops.push("data directory lock", () => lock.release());
    const spool = new Spool(paths.spool, clock);
    // The metrics file: rewritten every METRICS_INTERVAL_MS and once more on stop; a write never overlaps the last.
    const metricsFile = values["metrics-file"] === undefined ? paths.metrics : resolve(io.cwd, values["metrics-file"]);
    let writing: Promise<void> | undefined;
    const writeMetrics = () =>
      (writing ??= (async () => {
        try {
          await writeMetricsFile(metricsFile, metrics.render(await spoolGauges(spool)));
        } catch (error) {
          log({ event: "metrics.error", file: metricsFile, error: errorMessage(error) });
        } finally {
          writing = undefined;
        }
      })());
    stops.push("metrics", async () => {
      await writing;
      await writeMetrics();
    });
    const metricsTimer = setInterval(() => void writeMetrics(), METRICS_INTERVAL_MS);
    metricsTimer.unref();
    stops.push("metrics timer", () => clearInterval(metricsTimer));
    const recovered = await spool.recover();
    if (recovered.length) log({ event: "spool.recovered", files: recovered.length });
    const executor = new Executor({ concurrency: config.concurrency });
    stops.push("executor", () => executor.close());
    // Each bot's state is copied into its own account (ChatbotState), off the drain loop.
    const mirror = new StateMirror({ dataDir, config, clock, log, openMailbox: (settings, user, password) => openFolderMailbox(settings, user, password, STATE_FOLDER, STATE_HEADER) });
    stops.push("state mirror", () => mirror.stop());
    const service = new HostService({
      mirror,
      dataDir,
      config,
      spool,
      executor,
      clock,
      log,
      submitterFor: (bot) => createSmtpSubmitter({ ...config.smtp, user: bot.account.addr, password: bot.password }),
    });
    stops.push("service", () => service.stop());

    if (values.once) {
      const handled = await service.drainOnce();
      log({ event: "service.drained", entries: handled });
      return EXIT.ok;
    }

    if (!values["no-lmtp"]) {
      const socketGroup = config.lmtpSocketGroup === undefined ? undefined : groupId(config.lmtpSocketGroup);
      const lmtp = await startLmtpServer({ socketPath: config.lmtpSocket, spool, isBot: (addr) => isInstalledBot(dataDir, addr), maxBytes: MAIL_MAX_BYTES, log, onSpooled: () => service.poke(), ...(socketGroup === undefined ? {} : { socketGroup }) });
      stops.push("lmtp", () => lmtp.close());
    }
    await executor.warmUp();
    service.start();
    mirror.start(STATE_MIRROR_INTERVAL_MS);
    // Deploys and account logins on a timer of their own: a slow IMAP server never holds up mail.
    const watcher = new DeployWatcher({ dataDir, config, clock, log, openMailbox: openDeployMailbox });
    watcher.start();
    stops.push("deploy watcher", () => watcher.stop());
    log({ event: "service.started", dataDir, lmtp: values["no-lmtp"] ? null : config.lmtpSocket });
    void writeMetrics();
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
