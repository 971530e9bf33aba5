// `host serve`'s door: the process systemd runs and the one that stays when nothing happens (issue 15
// part 5). It holds serve.lock, the LMTP socket, the spool's doors (LMTP and the watch of the
// folder `host deliver` writes into), the log, the metrics and failing-bots.ts's counts, and finds
// the runners' walls once. Everything that needs the mail stack, OpenPGP and the sandbox runs in
// the pipeline process (pipeline-process.ts), which this starts and which rests when idle
// (pipeline-door.ts). Measured at rest: this process ~55 MiB, the pipeline ~35 MiB more while it runs.
import { spawn } from "node:child_process";
import { existsSync, watch } from "node:fs";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { Clock } from "../../core/clock.js";
import { compiledFile } from "../compiled-file.js";
import { detectRunnerWalls } from "../confine/runner-walls.js";
import { Spool } from "../spool/spool.js";
import { lockDataDir } from "./data-dir-lock.js";
import type { HostConfig } from "./host-config.js";
import type { HostLog } from "./host-event.js";
import { collectGarbage } from "./idle-gc.js";
import { startLmtpServer } from "./lmtp-server.js";
import type { HostMetrics } from "./metrics.js";
import { startMetricsWriter } from "./metrics-writer.js";
import { isRoutedBot } from "./paths.js";
import { PipelineDoor } from "./pipeline-door.js";
import { PIPELINE_WALLS_ENV } from "./pipeline-messages.js";
import type { StopStack } from "./stop-stack.js";
import { groupId } from "./unix-groups.js";
import { SpoolArrivals } from "./spool-arrivals.js";

/** After the pipeline rested, the door collects its own garbage once this much later, ms (if it is still resting). */
const DOOR_GC_AFTER_REST_MS = 5_000;

export interface DoorOptions {
  dataDir: string;
  spoolDir: string;
  config: HostConfig;
  clock: Clock;
  log: HostLog;
  metrics: HostMetrics;
  metricsFile: string;
  /** Listen on the LMTP socket (false: `--no-lmtp`). */
  lmtp: boolean;
}

/** Open the door and start the first pipeline; resolves with the pipeline's handle once it runs. */
export async function openDoor(options: DoorOptions, stops: StopStack): Promise<PipelineDoor> {
  const { dataDir, config, clock, log } = options;
  // Before anything reads the spool: one host serve per data directory (data-dir-lock.ts).
  const lock = await lockDataDir(dataDir);
  stops.push("data directory lock", () => lock.release());
  const spool = new Spool(options.spoolDir, clock);
  const metricsWriter = startMetricsWriter(options.metricsFile, options.metrics, spool, log);
  stops.push("metrics", () => metricsWriter.stop());
  // The walls runners get (issue 12), logged, and required ones enforced, once per start: the
  // pipeline process gets them as they are (and the cgroup leaf this process was moved into).
  const walls = await detectRunnerWalls(config.requireWalls, log);
  // The pipeline as one bundled file (host/cli/pipeline-entry.ts): it loads in half the CPU of the module graph.
  const pipelineProgram = compiledFile("pipeline.mjs");
  let gcTimer: NodeJS.Timeout | undefined;
  const pipeline = new PipelineDoor({
    log,
    clock,
    spawn: (why) =>
      spawn(
        process.execPath,
        [...process.execArgv, pipelineProgram, "host", "serve", "--pipeline", why === "start" ? "first" : "again", "--data-dir", dataDir],
        {
          // stdout unused (events come over the channel); stderr is the door's: a crash's trace lands where the door's would.
          stdio: ["ignore", "ignore", "inherit", "ipc"],
          env: { ...process.env, [PIPELINE_WALLS_ENV]: JSON.stringify(walls) },
        },
      ),
    onRest: () => {
      clearTimeout(gcTimer);
      gcTimer = setTimeout(() => pipeline.running || collectGarbage(), DOOR_GC_AFTER_REST_MS);
      gcTimer.unref();
    },
  });
  stops.push("pipeline", async () => {
    clearTimeout(gcTimer);
    await pipeline.stop();
  });
  await pipeline.start();
  // New entries only: the pipeline's own writes in spool/new (journals, completions) are not news to it.
  const arrivals = new SpoolArrivals(spool.dirs.new);
  if (options.lmtp) {
    const socketGroup = config.lmtpSocketGroup === undefined ? undefined : groupId(config.lmtpSocketGroup);
    const door = await startLmtpServer({
      socketPath: config.lmtpSocket,
      spool,
      isBot: (addr) => isRoutedBot(dataDir, addr),
      maxBytes: MAIL_MAX_BYTES,
      log,
      onSpooled: (entry) => arrivals.arrived(entry.id) && pipeline.poke(),
      ...(socketGroup === undefined ? {} : { socketGroup }),
    });
    stops.push("lmtp", () => door.close());
  }
  // `host deliver` writes into the spool from its own process, Dovecot's hook into the deploy
  // inbox: their folders' watches (inotify) start a resting pipeline or wake a running one.
  watchFolder(spool.dirs.new, (_event, name) => arrivals.changed(name) && pipeline.poke(), log, stops);
  if (config.deployInbox !== undefined && existsSync(config.deployInbox)) watchFolder(config.deployInbox, () => pipeline.poke(), log, stops);
  log({ event: "service.started", dataDir, lmtp: options.lmtp ? config.lmtpSocket : null });
  void metricsWriter.write();
  return pipeline;
}

/** Call `onChange` whenever something in `dir` changes, until the stops run. */
function watchFolder(dir: string, onChange: (event: string, name: string | null) => void, log: HostLog, stops: StopStack): void {
  try {
    const watcher = watch(dir, onChange);
    watcher.on("error", (error) => log({ event: "service.error", message: `watching ${dir}: ${error.message}` }));
    stops.push(`watch ${dir}`, () => watcher.close());
  } catch (error) {
    log({ event: "service.error", message: `watching ${dir}: ${(error as Error).message}` });
  }
}
