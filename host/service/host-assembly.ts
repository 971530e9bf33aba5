// `host serve`'s pipeline put together from its parts, in the order they must start and (reversed,
// through the StopStack) stop. Two steps because `--once` needs only the first:
//   openHost:  lock(s) → spool (+ recovery) → [metrics file] → runner walls → sandbox runner → state mirror → HostService
//   serveHost: routes table → runner warm-up → drain loop + ticks → state mirror timer → deploy watcher and inbox
// `host serve` runs both in its pipeline process (pipeline-process.ts); its door (serve-door.ts)
// holds the LMTP socket, the metrics and the log. `--once` runs openHost in its own process.
import {
  DEPLOY_INBOX_RESTART_MS,
  DEPLOY_MESSAGE_MAX_BYTES,
  MAIL_MAX_BYTES,
  PIPELINE_LOCK_WAIT_MS,
  RUNNER_IDLE_STOP_MS,
  STATE_MIRROR_INTERVAL_MS,
} from "../../core/limits.js";
import { readFile } from "node:fs/promises";
import type { Clock } from "../../core/clock.js";
import { appendToInbox, openDeployMailbox, openFolderMailbox } from "../deploy/imap-on-demand.js";
import { launcherFor, openRunnerWalls } from "../confine/runner-walls.js";
import type { WallDetection } from "../confine/detect-walls.js";
import { Executor } from "../executor/executor.js";
import { Spool } from "../spool/spool.js";
import { createSmtpSubmitter } from "../wire/smtp-submit.js";
import { lockDataDir, PIPELINE_LOCK_FILE_NAME } from "./data-dir-lock.js";
import { DeployWatcher } from "./deploy-watcher.js";
import type { HostConfig } from "./host-config.js";
import type { HostLog } from "./host-event.js";
import { HostService } from "./host-service.js";
import { DeployInbox } from "./deploy-inbox.js";
import { InboxCatchUp } from "./inbox-catch-up.js";
import { NOTICE_HEADER, type AuthorNotices } from "./author-notices.js";
import { hostBotSubmitter } from "./host-bot.js";
import { syncTransportMap } from "./transport-map.js";
import { describeError } from "../../core/errors.js";
import type { HostMetrics } from "./metrics.js";
import { startMetricsWriter } from "./metrics-writer.js";
import { hostPaths, isRoutedBot } from "./paths.js";
import { STATE_FOLDER, STATE_HEADER, StateMirror } from "./state-mirror.js";
import type { StopStack } from "./stop-stack.js";
import { collectGarbage } from "./idle-gc.js";
import type { RestAnswer } from "./pipeline-rest.js";

export interface HostAssemblyOptions {
  dataDir: string;
  spoolDir: string;
  config: HostConfig;
  clock: Clock;
  log: HostLog;
  /**
   * "once" (`host serve --once`): takes serve.lock, writes the metrics file and finds the walls
   * itself. "pipeline" (the pipeline process): its door holds serve.lock, the metrics and found the
   * walls (`walls`).
   */
  role: { kind: "once"; metrics: HostMetrics; metricsFile: string } | { kind: "pipeline"; walls: WallDetection };
}

/** The opened host: what serveHost starts, and what `--once` drains. */
export interface OpenHost {
  options: HostAssemblyOptions;
  spool: Spool;
  executor: Executor;
  mirror: StateMirror;
  service: HostService;
}

/** Open everything that holds the data directory; each part's stop goes onto `stops` as it opens. */
export async function openHost(options: HostAssemblyOptions, stops: StopStack): Promise<OpenHost> {
  const { dataDir, config, clock, log } = options;
  const { role } = options;
  // Before anything reads the spool: one host serve per data directory (data-dir-lock.ts), and one
  // pipeline (a killed serve's pipeline may still finish its entry: a new one waits for it).
  if (role.kind === "once") {
    const lock = await lockDataDir(dataDir);
    stops.push("data directory lock", () => lock.release());
  }
  const pipelineLock = await lockDataDir(dataDir, { name: PIPELINE_LOCK_FILE_NAME, waitMs: PIPELINE_LOCK_WAIT_MS });
  stops.push("pipeline lock", () => pipelineLock.release());
  const spool = new Spool(options.spoolDir, clock);
  if (role.kind === "once") {
    const metricsWriter = startMetricsWriter(role.metricsFile, role.metrics, spool, log);
    stops.push("metrics", () => metricsWriter.stop());
  }
  const recovered = await spool.recover();
  if (recovered.length) log({ event: "spool.recovered", files: recovered.length });
  // Before the runners start: the walls they get (issue 12), logged, and required ones enforced
  // (by the door for the pipeline process, which inherits its cgroup).
  const launcher = role.kind === "once" ? await openRunnerWalls(config.requireWalls, log) : launcherFor(role.walls);
  stops.push("runner walls", () => launcher.close());
  const executor = new Executor({ concurrency: config.concurrency, launcher, idleStopMs: RUNNER_IDLE_STOP_MS });
  stops.push("executor", () => executor.close());
  // Each bot's state is copied into its own account (ChatbotState), off the drain loop.
  const mirror = new StateMirror({
    dataDir,
    config,
    clock,
    log,
    openMailbox: (settings, user, password) => openFolderMailbox(settings, user, password, STATE_FOLDER, STATE_HEADER),
  });
  stops.push("state mirror", () => mirror.stop());
  const service = new HostService({
    mirror,
    dataDir,
    config,
    spool,
    executor,
    clock,
    log,
    // A paused bot's mail that was spooled before the pause: to its mailbox, as Postfix now does.
    toMailbox: (bot, raw) => appendToInbox(config.imap, bot.account.addr, bot.password, raw),
    collectGarbage,
    submitterFor: (bot) => {
      const smtp = createSmtpSubmitter({ ...config.smtp, user: bot.account.addr, password: bot.password });
      // The relay bot host's mail to an account that is a bot here goes to that account's INBOX (host-bot.ts).
      if (bot.account.addr !== config.hostBot) return smtp;
      // Marked like a notice: the INBOX catch-up must leave it to the author's Delta Chat.
      return hostBotSubmitter(dataDir, smtp, async (addr, raw) =>
        appendToInbox(
          config.imap,
          addr,
          (await readFile(hostPaths(dataDir).bot(addr).password, "utf8")).trim(),
          Buffer.concat([Buffer.from(`${NOTICE_HEADER}: relay\r\n`), raw]),
        ),
      );
    },
  });
  stops.push("service", () => service.stop());
  return { options, spool, executor, mirror, service };
}

/** The parts of a served pipeline that answer whether it may rest (pipeline-process.ts). */
export interface ServedParts {
  watcher: DeployWatcher;
  catchUp: InboxCatchUp;
  /** The deploy inbox (absent without one); `broken` while it cannot be watched (it is retried then). */
  inbox: { restAnswer(now: number): RestAnswer; broken: () => boolean } | undefined;
}

/** Start the drain loop, the timers and the watchers (the pipeline process; `first`: the door's first start of it). */
export async function serveHost(host: OpenHost, first: boolean, notices: AuthorNotices, stops: StopStack): Promise<ServedParts> {
  const { dataDir, config, clock, log } = host.options;
  // Postfix's table of bot routes, when the host keeps it: right at start, for bots installed while it was down.
  if (first)
    await syncTransportMap(dataDir, config).then(
      (sync) => sync && log({ event: "routing.synced", file: sync.file, bots: sync.bots, changed: sync.changed }),
      (error: unknown) => log({ event: "routing.failed", message: describeError(error) }),
    );
  await host.executor.warmUp();
  host.service.start();
  // `host deliver` (the pipe door) writes into the spool from its own process: the door's watch of
  // the folder (serve-door.ts) pokes the drain loop, which otherwise sleeps up to DRAIN_IDLE_MS.
  host.mirror.start(STATE_MIRROR_INTERVAL_MS);
  // Deploys and account logins on a timer of their own: a slow IMAP server never holds up mail.
  // Mail Postfix still delivered to a just-routed bot's mailbox is run from there (inbox-catch-up.ts);
  // the host's own notices there are its author's and stay.
  const catchUp = new InboxCatchUp({
    log,
    openInbox: async (addr) => {
      if (!isRoutedBot(dataDir, addr)) return null;
      const password = await readFile(hostPaths(dataDir).bot(addr).password, "utf8").catch(() => undefined);
      return password === undefined ? null : openFolderMailbox(config.imap, addr, password.trim(), "INBOX", NOTICE_HEADER);
    },
    keep: (message) => message.marker !== undefined,
    spool: async (addr, raw) => {
      await host.spool.write(addr, raw, MAIL_MAX_BYTES);
      host.service.poke();
    },
  });
  stops.push("inbox catch-up", async () => catchUp.stop());
  // What became of each deploy is told to the deploying account by the relay bot host (`notices`, author-notices.ts).
  const watcher = new DeployWatcher({
    dataDir,
    config,
    clock,
    log,
    openMailbox: openDeployMailbox,
    onRouted: (addr, since) => catchUp.schedule(addr, since),
    notify: (account, kind, text, options) => notices.notify(account, kind, text, options),
  });
  watcher.start();
  stops.push("deploy watcher", () => watcher.stop());
  if (config.deployInbox !== undefined) {
    const inbox = new DeployInbox({
      dir: config.deployInbox,
      maxBytes: DEPLOY_MESSAGE_MAX_BYTES,
      clock,
      log,
      install: (account, raw) => watcher.installArrived(account, raw),
      refused: (account, reason) => notices.notify(account, "refused", `Your deploy to ${account} was refused: ${reason}`),
    });
    // A deploy inbox that is missing or open to others is refused, but mail keeps flowing: the host
    // serves, says why (and the fix) in the log, and tries again every DEPLOY_INBOX_RESTART_MS.
    let lastError: string | undefined;
    let broken = false;
    let retry: NodeJS.Timeout | undefined;
    let stopped = false;
    const startInbox = async (): Promise<void> => {
      try {
        await inbox.start();
        broken = false;
        if (lastError !== undefined) log({ event: "deploy.error", error: "the deploy inbox works again" });
      } catch (error) {
        const message = `${describeError(error)}; deploys are found by the poll of installed bots only, tried again every ${DEPLOY_INBOX_RESTART_MS / 1000} s`;
        if (message !== lastError) log({ event: "deploy.error", error: message });
        lastError = message;
        broken = true;
        if (!stopped) retry = setTimeout(() => void startInbox(), DEPLOY_INBOX_RESTART_MS);
      }
    };
    await startInbox();
    stops.push("deploy inbox", async () => {
      stopped = true;
      clearTimeout(retry);
      await inbox.stop();
    });
    return { watcher, catchUp, inbox: { restAnswer: (now) => inbox.restAnswer(now), broken: () => broken } };
  }
  return { watcher, catchUp, inbox: undefined };
}
