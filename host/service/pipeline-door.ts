// The door's side of `host serve`'s pipeline process (issue 15 part 5: a host at rest holds only its
// door). The door keeps LMTP, the spool's doors, the metrics and the log; the pipeline process
// (pipeline-process.ts) does everything that needs the mail stack and OpenPGP. This class starts
// it when there is something to do — at start, on a poke (mail spooled, the deploy inbox changed),
// for a notice, and at the due time it named when it last rested — and starts it again, with a
// growing pause, when it died without resting. At most one runs at a time (and pipeline.lock makes
// sure across door restarts).
import type { ChildProcess } from "node:child_process";
import { PIPELINE_RESTART_MAX_MS, PIPELINE_RESTART_MIN_MS } from "../../core/limits.js";
import { ChatbotError, isErrorCode } from "../../core/errors.js";
import type { Clock } from "../../core/clock.js";
import type { NoticeKind } from "./author-notices.js";
import type { HostLog } from "./host-event.js";
import { toDoor, type ToDoor, type ToPipeline } from "./pipeline-messages.js";

/** setTimeout's longest delay (2^31 − 1 ms, ~24.8 days); a longer one would fire at once. */
const TIMER_MAX_MS = 2 ** 31 - 1;

export interface PipelineDoorDeps {
  /** Start one pipeline process with an IPC channel (`why`: what it is started for, for the log). */
  spawn: (why: PipelineStart) => ChildProcess;
  /** The door's logger: the pipeline's events are written through it too. */
  log: HostLog;
  clock: Clock;
  /** The pipeline process has exited and none runs now (the door may collect its own garbage). */
  onRest?: () => void;
}

/** Why a pipeline process is started. */
export type PipelineStart = "start" | "poke" | "notice" | "due" | "restart";

interface PendingNotice {
  id: number;
  account: string;
  kind: NoticeKind;
  text: string;
}

/** Starts, feeds and stops the pipeline process. */
export class PipelineDoor {
  private child: ChildProcess | undefined;
  private ready = false;
  private stopping = false;
  /** Pokes so far (each one numbered), and the last one a pipeline saw before it rested. */
  private pokes = 0;
  private pokesSeen = 0;
  /** Notices handed over and not yet known to be sent (a pipeline that rests has sent all it saw). */
  private notices: PendingNotice[] = [];
  private noticeIds = 0;
  /** The wake-up at the due time the last pipeline named, or the restart after a death. */
  private timer: NodeJS.Timeout | undefined;
  private restartPending = false;
  /** Deaths in a row (a rest resets it): the restart pause doubles with each. */
  private deaths = 0;
  private exited: Promise<void> = Promise.resolve();
  /** The first start's outcome (start()). */
  private firstStart: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private failure: ToDoor | undefined;

  constructor(private readonly deps: PipelineDoorDeps) {}

  /** Start the first pipeline process; resolves once it runs, rejects with why it could not start. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstStart = { resolve, reject };
      this.launch("start");
    });
  }

  /** Something to do: tell the running pipeline, or start one. */
  poke(): void {
    this.pokes += 1;
    if (this.stopping) return;
    if (this.child) {
      if (this.ready) this.send({ t: "poke", seq: this.pokes });
    } else if (!this.restartPending) this.launch("poke");
  }

  /** Have the pipeline send an author a notice (it is started for it when it rests). */
  notify(account: string, kind: NoticeKind, text: string): Promise<void> {
    const notice = { id: ++this.noticeIds, account, kind, text };
    this.notices.push(notice);
    if (this.stopping) return Promise.resolve();
    if (this.child) {
      if (this.ready) this.send({ t: "notify", ...notice });
    } else if (!this.restartPending) this.launch("notice");
    return Promise.resolve();
  }

  /** Whether a pipeline process runs now (tests, the bench). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** The running pipeline's pid, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stop the pipeline after its entry in progress; resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    if (this.child) {
      if (this.child.connected) this.send({ t: "stop" });
      else this.child.kill("SIGTERM");
    }
    await this.exited;
  }

  private send(message: ToPipeline): void {
    const child = this.child;
    if (!child?.connected) return;
    // A channel that closed under the send is the exit handler's business, not an error here.
    child.send(message, (error) => void error);
  }

  private launch(why: PipelineStart): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.restartPending = false;
    this.ready = false;
    this.failure = undefined;
    let rest: Extract<ToDoor, { t: "rest" }> | undefined;
    const child = this.deps.spawn(why);
    this.child = child;
    this.deps.log({ event: "pipeline.started", pid: child.pid ?? null, why });
    const pokesAtLaunch = this.pokes;
    child.on("message", (raw: unknown) => {
      const message = toDoor(raw);
      if (!message) {
        this.deps.log({ event: "service.error", message: `the pipeline process sent a message the door does not know: ${JSON.stringify(raw).slice(0, 200)}` });
        return;
      }
      if (message.t === "log") this.deps.log(message.event);
      else if (message.t === "ready") this.onReady(pokesAtLaunch);
      else if (message.t === "failed") this.failure = message;
      else rest = message;
    });
    this.exited = new Promise<void>((resolve) => {
      child.once("error", (error) => {
        // spawn itself failed (no exit follows when the process never ran).
        if (child.pid === undefined) {
          this.failure = { t: "failed", code: "E_CONFIG", message: `cannot start the pipeline process: ${error.message}` };
          this.onExit(undefined, undefined, null, null);
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        this.onExit(child.pid, rest, code, signal);
        resolve();
      });
    });
  }

  private onReady(pokesAtLaunch: number): void {
    this.ready = true;
    if (this.firstStart) {
      this.firstStart.resolve();
      this.firstStart = undefined;
    }
    // Pokes while it started are in its first pass already; notices are handed over now.
    if (this.pokes > pokesAtLaunch) this.send({ t: "poke", seq: this.pokes });
    for (const notice of this.notices) this.send({ t: "notify", ...notice });
  }

  private onExit(pid: number | undefined, rest: Extract<ToDoor, { t: "rest" }> | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = undefined;
    const wasReady = this.ready;
    this.ready = false;
    if (this.firstStart) {
      const failure = this.failure;
      const error =
        failure?.t === "failed"
          ? new ChatbotError(isErrorCode(failure.code) ? failure.code : "E_CONFIG", failure.message)
          : new ChatbotError("E_CONFIG", `the pipeline process exited (${signal ?? `code ${code}`}) before it started; its reason is on stderr`);
      this.firstStart.reject(error);
      this.firstStart = undefined;
      return;
    }
    if (this.stopping) return;
    if (rest) {
      this.deaths = 0;
      this.pokesSeen = Math.max(this.pokesSeen, rest.pokesSeen);
      this.notices = this.notices.filter((notice) => notice.id > rest.noticesSeen);
      this.deps.log({ event: "pipeline.rested", pid: pid ?? null, nextDueAt: rest.nextDueAt === null ? null : new Date(rest.nextDueAt).toISOString() });
      if (this.pokes > this.pokesSeen) this.launch("poke");
      else if (this.notices.length > 0) this.launch("notice");
      else {
        if (rest.nextDueAt !== null) this.wakeAt(rest.nextDueAt);
        this.deps.onRest?.();
      }
      return;
    }
    this.deaths += 1;
    const pauseMs = Math.min(PIPELINE_RESTART_MIN_MS * 2 ** (this.deaths - 1), PIPELINE_RESTART_MAX_MS);
    const why = this.failure?.t === "failed" ? `${this.failure.code}: ${this.failure.message}` : `exited with ${signal ?? `code ${code}`}`;
    this.deps.log({
      event: "service.error",
      message: `the pipeline process ${wasReady ? "" : "could not start: it "}${why}; started again in ${pauseMs / 1000} s (its spooled mail waits there)`,
    });
    this.restartPending = true;
    this.timer = setTimeout(() => this.launch("restart"), pauseMs);
  }

  /** Start the pipeline at `at` (ms on the clock), in steps of at most TIMER_MAX_MS. */
  private wakeAt(at: number): void {
    const delay = Math.max(0, at - this.deps.clock.now());
    this.timer = setTimeout(() => (delay > TIMER_MAX_MS ? this.wakeAt(at) : this.launch("due")), Math.min(delay, TIMER_MAX_MS));
  }
}
