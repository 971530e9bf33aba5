// `host serve`'s pipeline process (`host serve --pipeline`, started by its door, serve-door.ts, never
// by hand): the drain loop, the sandbox runners, ticks, deploys, state copies and notices — all of
// `host serve` that needs the mail stack and OpenPGP. Its events go to the door over the IPC
// channel. It rests (exits, telling the door when it is due again) once every part has been idle for
// PIPELINE_REST_AFTER_MS and nothing is due sooner (pipeline-rest.ts); it stops after its entry in
// progress when the door asks, when the channel closes (the door died: a `kill -9` of `host serve`
// leaves no pipeline behind for long), or on SIGTERM/SIGINT.
import { PIPELINE_REST_CHECK_MS } from "../../core/limits.js";
import { describeError, isChatbotError } from "../../core/errors.js";
import type { Clock } from "../../core/clock.js";
import type { WallDetection } from "../confine/detect-walls.js";
import { authorNoticesFor } from "./author-notices.js";
import type { HostConfig } from "./host-config.js";
import type { HostEvent, HostLog } from "./host-event.js";
import { openHost, serveHost } from "./host-assembly.js";
import { toPipeline, type ToDoor } from "./pipeline-messages.js";

/** Once its last message is sent, the process leaves within this long even if a handle was left open, ms. */
const EXIT_GRACE_MS = 2_000;
import { combineRest, QuietClock, type RestAnswer } from "./pipeline-rest.js";
import { PIPELINE_WALLS_ENV } from "./pipeline-messages.js";
import { StopStack } from "./stop-stack.js";
import { useBlockingFileIo } from "../spool/file-io.js";

export interface PipelineProcessOptions {
  dataDir: string;
  spoolDir: string;
  config: HostConfig;
  clock: Clock;
  /** The door's first start of a pipeline (the routes table is synced then), or a later one. */
  first: boolean;
}

/** Send a message to the door; false when the channel is gone. */
function tell(message: ToDoor): boolean {
  if (!process.send || !process.connected) return false;
  process.send(message, (error: Error | null) => void error);
  return true;
}

/** Send the last message, then let go of the channel (the door sees the exit next) and make sure the process ends. */
async function tellLast(message: ToDoor | undefined): Promise<void> {
  if (message && process.send && process.connected) await new Promise<void>((resolve) => process.send!(message, () => resolve()));
  if (process.connected) process.disconnect();
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

/** The walls the door found (serve-door.ts hands them over in the environment). */
function wallsFromDoor(): WallDetection {
  const text = process.env[PIPELINE_WALLS_ENV];
  if (!text) throw new Error(`${PIPELINE_WALLS_ENV} is not set: 'host serve --pipeline' is started by 'host serve', not by hand`);
  return JSON.parse(text) as WallDetection;
}

/** Run the pipeline until it rests or is stopped; resolves with the exit code. */
export async function runPipelineProcess(options: PipelineProcessOptions): Promise<number> {
  const { dataDir, config, clock } = options;
  if (!process.send) throw new Error("'host serve --pipeline' needs the IPC channel of the 'host serve' that starts it");
  // One entry at a time and no socket waiting on it (the door holds LMTP): the stores' small-file
  // calls block instead of going through libuv's pool (spool/file-io.ts: ~7× less CPU per call).
  useBlockingFileIo();
  // Events go to the door, which writes and counts them; without a door (it died), to stderr.
  const log: HostLog = (event: HostEvent) => {
    if (!tell({ t: "log", event })) process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`);
  };
  const stops = new StopStack();
  let stopNow: () => void = () => {};
  const stopped = new Promise<"stop">((resolve) => (stopNow = () => resolve("stop")));
  let pokesSeen = 0;
  let noticesSeen = 0;
  const notices = authorNoticesFor(dataDir, config, clock, log);
  let pendingNotices = 0;
  let host: Awaited<ReturnType<typeof openHost>> | undefined;
  process.on("message", (raw: unknown) => {
    const message = toPipeline(raw);
    if (!message) return log({ event: "service.error", message: `the pipeline got a message it does not know: ${JSON.stringify(raw).slice(0, 200)}` });
    if (message.t === "stop") return stopNow();
    if (message.t === "poke") {
      pokesSeen = Math.max(pokesSeen, message.seq);
      host?.service.poke();
      return;
    }
    if (message.id <= noticesSeen) return; // handed over again after a restart: sent already
    noticesSeen = message.id;
    pendingNotices += 1;
    void notices.notify(message.account, message.kind, message.text).finally(() => (pendingNotices -= 1));
  });
  process.once("disconnect", stopNow);
  process.once("SIGTERM", stopNow);
  process.once("SIGINT", stopNow);
  try {
    host = await openHost({ dataDir, spoolDir: options.spoolDir, config, clock, log, role: { kind: "pipeline", walls: wallsFromDoor() } }, stops);
    const parts = await serveHost(host, options.first, notices, stops);
    tell({ t: "ready" });
    const service = host.service;
    const quiet = new QuietClock();
    // host.json pipelineRestSeconds (default PIPELINE_REST_AFTER_MS); 0: never rests. Looked at six
    // times per rest time, at most every PIPELINE_REST_CHECK_MS.
    const restAfterMs = config.pipelineRestSeconds * 1000;
    const checkMs = Math.max(250, Math.min(PIPELINE_REST_CHECK_MS, restAfterMs / 6));
    // Every PIPELINE_REST_CHECK_MS: the parts' own answers (cheap); once quiet for long enough, the
    // drain loop's (a tick scan): rest if nothing is due within PIPELINE_REST_AFTER_MS.
    const rested = new Promise<number | null>((resolve) => {
      if (restAfterMs === 0) return;
      let looking = false;
      const timer = setInterval(() => {
        if (looking) return;
        looking = true;
        void (async () => {
          const now = clock.now();
          const cheap = combineRest([
            pendingNotices > 0 ? "busy" : Number.POSITIVE_INFINITY,
            notices.restAnswer(now),
            host!.mirror.restAnswer(),
            parts.watcher.restAnswer(),
            parts.catchUp.restAnswer(),
            parts.inbox ? (parts.inbox.broken() ? "busy" : parts.inbox.restAnswer(now)) : Number.POSITIVE_INFINITY,
          ]);
          if (quiet.quietFor(now, cheap === "busy") < restAfterMs) return;
          const answer: RestAnswer = combineRest([cheap, await service.restAnswer(restAfterMs)]);
          if (answer === "busy" || answer - clock.now() < restAfterMs) {
            quiet.quietFor(now, true);
            return;
          }
          clearInterval(timer);
          resolve(Number.isFinite(answer) ? answer : null);
        })()
          .catch((error: unknown) => log({ event: "service.error", message: `the pipeline's rest check: ${describeError(error)}` }))
          .finally(() => (looking = false));
      }, checkMs);
      stops.push("rest check", () => clearInterval(timer));
    });
    const outcome = await Promise.race([stopped, rested]);
    await stops.unwind((name, error) => log({ event: "service.stop-error", part: name, error: describeError(error) }));
    // A stop says nothing more: the door is stopping or gone.
    if (outcome !== "stop") await tellLast({ t: "rest", nextDueAt: outcome, pokesSeen, noticesSeen });
    else await tellLast(undefined);
    return 0;
  } catch (error) {
    await stops.unwind((name, stopError) => log({ event: "service.stop-error", part: name, error: describeError(stopError) }));
    await tellLast({
      t: "failed",
      code: isChatbotError(error) ? error.code : "E_CONFIG",
      message: isChatbotError(error) ? error.message : describeError(error),
    });
    return 70;
  }
}
