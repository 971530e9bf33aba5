// The host side of execution: a small pool of runner child processes, at most one event per
// runner at a time, and a watchdog per event. The interrupt handler cannot stop long built-ins
// (a huge JSON.stringify ran 12 s past a 50 ms deadline, DESIGN §2), so the parent kills a runner
// that overruns the wall budget and starts a fresh one. bot.fetch is performed here, not in the
// runner (issue 12, part 1): the runner asks over IPC, EventFetches performs the request under the
// event's policy and answers, and whatever is still running when the event ends is aborted.
import { spawn, type ChildProcess } from "node:child_process";
import { compiledFile } from "../compiled-file.js";
import { performance } from "node:perf_hooks";
import type { Readable, Writable } from "node:stream";
import type { Dispatcher } from "undici";
import { ChatbotError } from "../../core/errors.js";
import { RUNNER_IDLE_MESSAGE_MAX_BYTES, RUNNER_OLD_SPACE_MB, runnerMessageMaxBytes, WATCHDOG_GRACE_MS } from "../../core/limits.js";
import { stoppedResult, type HostFetchSettings, type RunRequest, type RunResult } from "./run-types.js";
import { EventFetches } from "../fetch/event-fetches.js";
import { plainLauncher, type RunnerLauncher } from "../confine/runner-launcher.js";
import { afterToken, type HostToRunner, type RunnerToHost } from "./runner-protocol.js";
import { checkRunnerFetch, checkRunnerResult, RunnerMessageError, withStateChanges } from "./runner-message-check.js";
import { readFrames, writeFrame } from "./message-frames.js";
import { BundleCache } from "./bundle-cache.js";
import { StateCache } from "./state-cache.js";
import { stateChars } from "./state-snapshot.js";

export interface ExecutorOptions {
  /** Events run at once, one runner process each (default 1: execution is serialized). */
  concurrency?: number;
  /** Time the watchdog allows past an event's wall budget before it kills the runner, ms. */
  watchdogGraceMs?: number;
  /** Path of the compiled runner-process.js (found next to this module or under lib/ by default). */
  runnerPath?: string;
  /** Receives what runners write to stderr (default: it goes to this process's stderr). */
  onRunnerStderr?: (text: string) => void;
  /**
   * Where bots' fetches go (tests: undici's MockAgent); default a guarded undici Agent per event,
   * which checks every socket's address. The origin policy, caps and deadlines apply either way.
   */
  fetchDispatcher?: Dispatcher;
  /** Host-side fetch settings for every event (tests: their TLS servers' CA, names); an event's own are added to them. */
  fetchSettings?: HostFetchSettings;
  /**
   * How runner processes start (host/confine/runner-launcher.ts): `host serve` passes a confined
   * launcher (issue 12's walls); the default is plain node without the host's environment.
   */
  launcher?: RunnerLauncher;
  /**
   * Stop every runner once none has had an event for this long, ms; the next event starts one
   * (~100-200 ms). Unset: runners live until close(). `host serve` passes RUNNER_IDLE_STOP_MS.
   */
  idleStopMs?: number;
}

interface Pending {
  id: number;
  request: RunRequest;
  /** Stays here: the runner never sees it. */
  fetchSettings: HostFetchSettings;
  resolve: (result: RunResult) => void;
  reject: (error: Error) => void;
  /** The event was handed to the runner: a crash from here on is the bot's (E_RUNNER), before it the host's. */
  sent?: boolean;
  /** The event's fetches, performed here for the runner; built on its first fetch. */
  fetches?: EventFetches;
  /** The runner said it lacked the bundle and was sent it whole: a second time it says so is refused. */
  bundleResent?: boolean;
  /** The same for the bot's state (stateToken). */
  stateResent?: boolean;
}

interface Runner {
  child: ChildProcess;
  /** The channel to the runner (fd 3 on its side); its answers come on fd 4 (message-frames.ts). */
  toRunner: Writable;
  ready: Promise<void>;
  job: Pending | undefined;
  watchdog: NodeJS.Timeout | undefined;
  startedAt: number;
  /** The bundles this runner holds, as it counts them too (bundle-cache.ts): their code is not sent again. */
  bundles: BundleCache;
  /** The bots' states its sandbox worker holds, as the worker counts them too (state-cache.ts). */
  states: StateCache<true>;
}

/** Where the compiled runner entry is: beside this module when compiled, else under lib/. */
function defaultRunnerPath(): string {
  return compiledFile("executor/runner-process.js");
}

/** Runs events in sandboxes; `close()` stops every runner. */
export class Executor {
  private readonly concurrency: number;
  private readonly graceMs: number;
  private readonly runnerPath: string;
  private readonly onRunnerStderr: ((text: string) => void) | undefined;
  private readonly fetchDispatcher: Dispatcher | undefined;
  private readonly fetchSettings: HostFetchSettings;
  private readonly launcher: RunnerLauncher;
  private readonly runners: Runner[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly idleStopMs: number | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /**
   * Runners started and killed by the watchdog, for tests and metrics; sandboxResets counts events
   * after which a runner threw its QuickJS module away (a runtime that could not be freed, a trap),
   * lastSandboxReset says why. guestsStopped counts events whose guest went on running after it was
   * interrupted (it caught the interruption) and whose sandbox thread the runner stopped: the bot's doing.
   * modulesBuilt counts events that ran in a fresh QuickJS module (a runner's first, another bot's, after a reset).
   * runnersRefused counts runners killed for a message the host does not take (runner-message-check.ts).
   * bundlesSent counts events whose frame carried the bundle's code (the runner did not hold it yet);
   * statesSent those whose frame carried a state with a stateToken (the runner did not hold that one),
   * statesMissing the events whose runner asked for a state the host counted as held (its worker was replaced).
   */
  readonly stats: {
    runnersStarted: number;
    runnersKilled: number;
    runnersCrashed: number;
    sandboxResets: number;
    lastSandboxReset?: string;
    guestsStopped: number;
    modulesBuilt: number;
    runnersRefused: number;
    bundlesSent: number;
    statesSent: number;
    statesMissing: number;
  } = {
    runnersStarted: 0,
    runnersKilled: 0,
    runnersCrashed: 0,
    sandboxResets: 0,
    guestsStopped: 0,
    modulesBuilt: 0,
    runnersRefused: 0,
    bundlesSent: 0,
    statesSent: 0,
    statesMissing: 0,
  };

  constructor(options: ExecutorOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.graceMs = options.watchdogGraceMs ?? WATCHDOG_GRACE_MS;
    this.runnerPath = options.runnerPath ?? defaultRunnerPath();
    this.onRunnerStderr = options.onRunnerStderr;
    this.fetchDispatcher = options.fetchDispatcher;
    this.fetchSettings = options.fetchSettings ?? {};
    this.launcher = options.launcher ?? plainLauncher;
    this.idleStopMs = options.idleStopMs;
  }

  /**
   * Run one event; resolves with its typed result. Rejects with E_RUNNER only if the runner crashed
   * while running it, with E_RUNNER_UNAVAILABLE if it never got to run (closed, runner did not start).
   * `fetchSettings` are the host's own for this event's fetches (the test kit's replay): only the
   * request crosses to the runner.
   */
  run(request: RunRequest, fetchSettings: HostFetchSettings = {}): Promise<RunResult> {
    if (this.closed) return Promise.reject(new ChatbotError("E_RUNNER_UNAVAILABLE", "executor is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, fetchSettings: { ...this.fetchSettings, ...fetchSettings }, resolve, reject });
      this.pump();
    });
  }

  /** PIDs of the live runner processes (for tests and `host` status). */
  runnerPids(): number[] {
    return this.runners.map((r) => r.child.pid ?? -1);
  }

  /** Start the runners now instead of on the first event (hides their ~100 ms start-up). */
  async warmUp(): Promise<void> {
    while (this.runners.length < this.concurrency) this.runners.push(this.startRunner());
    await Promise.all(this.runners.map((r) => r.ready));
    this.stopWhenIdle();
  }

  /** Stop all runners; queued events are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const job of this.queue.splice(0)) job.reject(new ChatbotError("E_RUNNER_UNAVAILABLE", "executor closed"));
    await Promise.all(this.runners.splice(0).map((runner) => this.stopRunner(runner)));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let runner = this.runners.find((r) => r.job === undefined);
      if (!runner && this.runners.length < this.concurrency) {
        runner = this.startRunner();
        this.runners.push(runner);
      }
      if (!runner) return;
      const job = this.queue.shift()!;
      this.dispatch(runner, job);
    }
  }

  private dispatch(runner: Runner, job: Pending): void {
    runner.job = job;
    runner.ready.then(
      () => {
        if (runner.job !== job) return;
        runner.startedAt = performance.now();
        runner.watchdog = setTimeout(() => this.overran(runner, job), job.request.limits.wallMsPerEvent + this.graceMs);
        job.sent = true;
        this.sendRun(runner, job, !runner.bundles.holds(job.request.bundle));
      },
      (error: Error) => this.finish(runner, job, () => job.reject(error)),
    );
  }

  /**
   * Hand `job` to `runner`, with its bundle's code when `withCode` (which the runner then holds),
   * else by name; with the bot's state unless the runner holds it under the request's stateToken
   * (`withState` sends it anyway).
   */
  private sendRun(runner: Runner, job: Pending, withCode: boolean, withState = false): void {
    const { bundle, state, stateToken, messageIds } = job.request;
    if (withCode) {
      runner.bundles.put(bundle);
      this.stats.bundlesSent += 1;
    }
    const named = withCode ? bundle : { id: bundle.id, filename: bundle.filename };
    const held = stateToken !== undefined && !withState && runner.states.holds(messageIds.botAddr, stateToken);
    if (stateToken !== undefined && !held) {
      runner.states.put(messageIds.botAddr, stateToken, stateChars(state), true);
      this.stats.statesSent += 1;
    }
    const { state: _state, ...rest } = job.request;
    const request = held ? { ...rest, bundle: named } : { ...rest, bundle: named, state };
    writeFrame(runner.toRunner, { type: "run", id: job.id, request } satisfies HostToRunner);
  }

  private finish(runner: Runner, job: Pending, settle: () => void): void {
    if (runner.job !== job) return;
    clearTimeout(runner.watchdog);
    runner.watchdog = undefined;
    runner.job = undefined;
    // The event is over (or its runner is gone): no request of it may go on.
    void job.fetches?.close();
    settle();
    this.pump();
    this.stopWhenIdle();
  }

  /**
   * With idleStopMs: (re)arm the timer that stops the runners once none has had an event for that
   * long. An idle host then holds no runner (~58 MiB of RSS each; issue 15's idle footprint), and
   * a timer that finds an event queued or running leaves them be.
   */
  private stopWhenIdle(): void {
    if (this.idleStopMs === undefined || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed || this.queue.length > 0 || this.runners.some((runner) => runner.job !== undefined)) return;
      for (const runner of this.runners.splice(0)) void this.stopRunner(runner);
    }, this.idleStopMs);
    // An idle timer never keeps a process alive that has nothing else to do.
    this.idleTimer.unref();
  }

  /** The watchdog fired: the guest is stuck where the interrupt handler cannot reach. */
  private overran(runner: Runner, job: Pending): void {
    const wallMs = performance.now() - runner.startedAt;
    this.stats.runnersKilled += 1;
    this.replace(runner);
    const { wallMsPerEvent } = job.request.limits;
    const ending = {
      status: "wall-limit",
      limit: { name: "wallMsPerEvent", value: wallMsPerEvent, unit: "ms" },
      error: { code: "E_LIMIT_wallMsPerEvent", message: `wall time budget of ${wallMsPerEvent} ms used up inside a built-in; the runner was killed` },
    } as const;
    // The runner was busy in guest code the whole time: count all of it as CPU.
    this.finish(runner, job, () => job.resolve(stoppedResult(ending, Math.round(wallMs), Math.round(wallMs))));
  }

  private replace(runner: Runner): void {
    runner.child.removeAllListeners("exit");
    runner.child.kill("SIGKILL");
    const index = this.runners.indexOf(runner);
    if (index >= 0) this.runners.splice(index, 1);
  }

  private startRunner(): Runner {
    this.stats.runnersStarted += 1;
    // --optimize-for-size: V8 grows its heap in smaller steps and collects sooner. Without it the
    // garbage of each event's host-side objects piled up between major collections: the runner's
    // RSS went from 82 MiB after 100 echo events to 158 MiB after 10 000 (issue 15, part 4) with
    // the WASM memory flat at 16 MiB; with it the heap stayed 21-30 MiB (CPU per event within noise).
    const launch = this.launcher.launch(this.runnerPath, [`--max-old-space-size=${RUNNER_OLD_SPACE_MB}`, "--optimize-for-size"]);
    // spawn, not fork: the walls' tools (unshare, sh, prlimit, setpriv) exec one another and
    // finally node, and fds 3 and 4 (the channel, message-frames.ts) are inherited all the way.
    const child = spawn(launch.command, launch.args, {
      stdio: ["ignore", "inherit", this.onRunnerStderr ? "pipe" : "inherit", "pipe", "pipe"],
      env: launch.env,
    });
    // "close", not "exit": replace() drops the exit listeners of a runner it kills.
    child.once("close", () => launch.release());
    if (this.onRunnerStderr) child.stderr?.setEncoding("utf8").on("data", this.onRunnerStderr);
    let markReady!: () => void;
    let failReady!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => undefined);
    const toRunner = child.stdio[3] as Writable;
    const fromRunner = child.stdio[4] as Readable;
    // A runner that is gone or killed: writes fail quietly (its exit handler ends the event).
    toRunner.on("error", () => undefined);
    fromRunner.on("error", () => undefined);
    const runner: Runner = {
      child,
      toRunner,
      ready,
      job: undefined,
      watchdog: undefined,
      startedAt: 0,
      bundles: new BundleCache(),
      states: new StateCache<true>(),
    };
    // Everything a runner says is checked (runner-message-check.ts): behind the walls it is the
    // one way out of a runner, so a runner that sends anything else is killed, and its event ends.
    readFrames(fromRunner, {
      maxBytes: () => (runner.job ? runnerMessageMaxBytes(runner.job.request.limits) : RUNNER_IDLE_MESSAGE_MAX_BYTES),
      onMessage: (raw) => {
        try {
          this.received(runner, raw, markReady);
        } catch (error) {
          this.refuse(runner, error instanceof RunnerMessageError ? error.message : `a message the host could not take (${String(error)})`);
        }
      },
      onError: (why) => this.refuse(runner, why),
    });
    const gone = (reason: string) => {
      const index = this.runners.indexOf(runner);
      if (index >= 0) this.runners.splice(index, 1);
      failReady(new ChatbotError("E_RUNNER_UNAVAILABLE", reason));
      const job = runner.job;
      if (job) {
        this.stats.runnersCrashed += 1;
        // Died with the event in hand: the bot's (unless close() killed it). Before it: the host's.
        const code = job.sent && !this.closed ? "E_RUNNER" : "E_RUNNER_UNAVAILABLE";
        this.finish(runner, job, () => job.reject(new ChatbotError(code, reason)));
      }
      this.pump();
    };
    child.on("exit", (code, signal) => gone(`runner exited (${signal ?? code})`));
    // The launch command could not be started at all (no exit follows): the host's problem.
    child.on("error", (error) => {
      if (child.pid !== undefined) return;
      launch.release();
      gone(`runner could not start: ${error.message}`);
    });
    return runner;
  }

  /** One message from `runner`, checked before anything acts on it; throws RunnerMessageError. */
  private received(runner: Runner, raw: unknown, markReady: () => void): void {
    if (typeof raw !== "object" || raw === null) throw new RunnerMessageError("a message that is not an object");
    const message = raw as Record<string, unknown> & RunnerToHost;
    if (message.type === "ready") {
      markReady();
      return;
    }
    const job = runner.job;
    // Not about the event in hand (one that already ended): nothing to act on.
    if (!job || job.id !== message.id) return;
    if (message.type === "fetch" || message.type === "fetch-cancel") {
      const checked = checkRunnerFetch(message);
      if (checked.type === "fetch") this.fetchesOf(job).start(checked, (answer) => this.tell(runner, answer));
      else job.fetches?.cancel(checked.fetchId);
      return;
    }
    if (message.type === "bundle-missing") {
      // Never in the host's own account of the runner's bundles; a runner that asks twice for one event is not believed.
      if (job.bundleResent) throw new RunnerMessageError("a second request for the bundle of one event");
      job.bundleResent = true;
      this.sendRun(runner, job, true, true);
      return;
    }
    if (message.type === "state-missing") {
      // The worker was replaced since it got the state (its account starts empty); asked twice for one event, it is not believed.
      if (job.stateResent) throw new RunnerMessageError("a second request for the state of one event");
      job.stateResent = true;
      this.stats.statesMissing += 1;
      this.sendRun(runner, job, !runner.bundles.holds(job.request.bundle), true);
      return;
    }
    if (message.type === "result") {
      const sent = withStateChanges(message, job.request);
      const checked = checkRunnerResult(sent.result, job.request);
      // The worker keeps the state after an ok event that changed it; so does this account of it.
      const { stateToken, messageIds } = job.request;
      const held = message.stateChanges !== undefined && checked.state !== null && stateToken !== undefined;
      if (held) runner.states.put(messageIds.botAddr, afterToken(stateToken, job.id), stateChars(checked.state!), true);
      if (typeof message.sandboxReset === "string") {
        this.stats.sandboxResets += 1;
        this.stats.lastSandboxReset = message.sandboxReset.slice(0, 500);
      }
      if (message.guestStopped === true) this.stats.guestsStopped += 1;
      if (message.freshModule === true) this.stats.modulesBuilt += 1;
      // Replay mode (the test kit): the URLs the bot asked for, as the host saw them.
      const named = {
        ...checked,
        ...(checked.state !== null && sent.changes ? { stateChanges: sent.changes } : {}),
        ...(held ? { stateToken: afterToken(stateToken, job.id) } : {}),
      };
      const result = job.fetchSettings.recorded ? { ...named, fetchedUrls: [...(job.fetches?.urls ?? [])] } : named;
      this.finish(runner, job, () => job.resolve(result));
      return;
    }
    if (message.type === "crash") {
      this.stats.runnersCrashed += 1;
      const reason = typeof message.reason === "string" ? message.reason.slice(0, 500) : "no reason given";
      this.finish(runner, job, () => job.reject(new ChatbotError("E_RUNNER", `sandbox crashed: ${reason}`)));
      return;
    }
    throw new RunnerMessageError("a message of an unknown type");
  }

  /** `runner` sent something the host does not take: it is killed, and its event (if any) fails as the bot's. */
  private refuse(runner: Runner, why: string): void {
    this.stats.runnersRefused += 1;
    const job = runner.job;
    this.replace(runner);
    if (job) this.finish(runner, job, () => job.reject(new ChatbotError("E_RUNNER", `the sandbox runner sent ${why}; it was stopped`)));
    else this.pump();
  }

  /** The fetches of `job`, built on its first fetch (most events never fetch). */
  private fetchesOf(job: Pending): EventFetches {
    job.fetches ??= new EventFetches(job.request, this.fetchDispatcher, job.fetchSettings);
    return job.fetches;
  }

  /** Send `message` to a runner that may have died meanwhile (its exit handler settles its event). */
  private tell(runner: Runner, message: HostToRunner): void {
    if (runner.job === undefined || !runner.toRunner.writable) return;
    // An error means the runner is gone: its exit handler ends the event.
    writeFrame(runner.toRunner, message);
  }

  private async stopRunner(runner: Runner): Promise<void> {
    clearTimeout(runner.watchdog);
    if (runner.child.exitCode !== null || runner.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      runner.child.once("exit", () => resolve());
      runner.child.kill("SIGKILL");
    });
  }
}
