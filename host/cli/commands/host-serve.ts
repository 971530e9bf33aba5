// `chatbot host serve`: the host service — LMTP door, spool drain into the sandbox, SMTP out.
import { mkdirSync, readFileSync } from "node:fs";
import { ChatbotError } from "../../errors.js";
import { join, resolve } from "node:path";
import { Executor } from "../../executor/executor.js";
import { MAIL_MAX_BYTES, STATE_MIRROR_INTERVAL_MS } from "../../limits.js";
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
import type { LogLine } from "../../service/handle-mail.js";
import { dataDirFrom, hostPaths, isInstalledBot } from "../../service/paths.js";
import { parseCommandArgs } from "../args.js";
import { EXIT, type CliIo, type Command } from "../command.js";

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

/** The numeric id of a group from /etc/group. */
function groupId(name: string): number {
  const line = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  const gid = line ? Number(line.split(":")[2]) : NaN;
  if (!Number.isInteger(gid)) throw new ChatbotError("E_CONFIG", `host.json: lmtpSocketGroup "${name}" is not a group on this machine`);
  return gid;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs("host serve", args, { "data-dir": { type: "string" }, once: { type: "boolean" }, "no-lmtp": { type: "boolean" }, "metrics-file": { type: "string" } }, 0);
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  const paths = hostPaths(dataDir);
  const config = await loadHostConfig(paths.config, dataDir);
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
  // Open for the life of the process (closed by its exit): late lines (metrics, stop) still land.
  const logFile = openLogAppender(join(paths.logs, "host.jsonl"));
  let service: HostService | undefined;
  const metrics = new HostMetrics();
  const log = (line: LogLine) => {
    const text = `${JSON.stringify({ at: new Date().toISOString(), ...line })}\n`;
    io.stdout(text);
    logFile.append(text);
    metrics.observe(line);
    if (line.event === "lmtp.spooled") service?.poke();
  };
  const clock = { now: () => Date.now() };
  const spool = new Spool(paths.spool, clock);
  // The metrics file: rewritten every METRICS_INTERVAL_MS and once more on stop; a write never overlaps the last.
  const metricsFile = values["metrics-file"] === undefined ? paths.metrics : resolve(io.cwd, values["metrics-file"]);
  let writing: Promise<void> | undefined;
  const writeMetrics = () =>
    (writing ??= (async () => {
      try {
        await writeMetricsFile(metricsFile, metrics.render(await spoolGauges(spool)));
      } catch (error) {
        log({ event: "metrics.error", file: metricsFile, error: error instanceof Error ? error.message : String(error) });
      } finally {
        writing = undefined;
      }
    })());
  const metricsTimer = setInterval(() => void writeMetrics(), METRICS_INTERVAL_MS);
  metricsTimer.unref();
  const recovered = await spool.recover();
  if (recovered.length) log({ event: "spool.recovered", files: recovered.length });
  const executor = new Executor({ concurrency: config.concurrency });
  // Each bot's state is copied into its own account (ChatbotState), off the drain loop.
  const mirror = new StateMirror({ dataDir, config, clock, log, openMailbox: (settings, user, password) => openFolderMailbox(settings, user, password, STATE_FOLDER, STATE_HEADER) });
  service = new HostService({
    mirror,
    dataDir,
    config,
    spool,
    executor,
    clock,
    log,
    submitterFor: (bot) => createSmtpSubmitter({ ...config.smtp, user: bot.account.addr, password: bot.password }),
  });

  if (values.once) {
    const handled = await service.drainOnce();
    await service.stop();
    await mirror.stop();
    await executor.close();
    log({ event: "service.drained", entries: handled });
    clearInterval(metricsTimer);
    await writing;
    await writeMetrics();
    return EXIT.ok;
  }

  const socketGroup = config.lmtpSocketGroup === undefined ? undefined : groupId(config.lmtpSocketGroup);
  const lmtp = values["no-lmtp"]
    ? undefined
    : await startLmtpServer({ socketPath: config.lmtpSocket, spool, isBot: (addr) => isInstalledBot(dataDir, addr), maxBytes: MAIL_MAX_BYTES, log, ...(socketGroup === undefined ? {} : { socketGroup }) });
  await executor.warmUp();
  service.start();
  mirror.start(STATE_MIRROR_INTERVAL_MS);
  // Deploys and account logins on a timer of their own: a slow IMAP server never holds up mail.
  const watcher = new DeployWatcher({ dataDir, config, clock, log, openMailbox: openDeployMailbox });
  watcher.start();
  log({ event: "service.started", dataDir, lmtp: lmtp ? config.lmtpSocket : null });
  void writeMetrics();
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log({ event: "service.stopping" });
  await lmtp?.close();
  await watcher.stop();
  await service.stop();
  await mirror.stop();
  await executor.close();
  clearInterval(metricsTimer);
  await writing;
  await writeMetrics();
  return EXIT.ok;
}

export const hostServeCommand: Command = { path: ["host", "serve"], summary: "run the host service (LMTP in, sandbox, SMTP out, ticks)", help: HELP, run };
