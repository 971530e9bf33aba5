// What the host sends to a runner for one event, and the typed result it gets back.
import type { StateChanges } from "./state-snapshot.js";
import type { Action, GuestEvent, LogLevel } from "../../std/contract.js";
import type { EventLimits } from "../../core/limits.js";

/** The fetch policy of one event: the origins the bot may reach (the manifest's, approved). */
export interface FetchPolicy {
  allowOrigins: string[];
  /** http:// to explicitly allowed loopback origins (`chatbot run --allow-http-loopback`, tests). */
  allowHttpLoopback: boolean;
}

/**
 * Host-side settings of an event's fetches that never reach the runner (Executor.run's second
 * argument, or ExecutorOptions.fetchSettings for every event): the test kit's replay and the test
 * suite's own servers.
 */
export interface HostFetchSettings {
  /** Extra CA certificate (PEM) to trust, for tests with local TLS servers. */
  caPem?: string;
  /**
   * Static name → addresses answers used instead of DNS (like /etc/hosts). They pass the same
   * connect-time address check as DNS answers, so they cannot open a private address either.
   */
  hosts?: Record<string, string[]>;
  /**
   * Replay mode (the test kit, chatbot/testing): answer fetches from these recorded responses and
   * never touch the network. The origin allowlist and the request checks still apply, with the
   * same error codes as a real fetch; a URL without a recording fails with E_FETCH_FAILED. The
   * result then lists every URL the bot asked for (RunResult.fetchedUrls).
   */
  recorded?: RecordedFetch[];
}

/** A response recorded for one URL (exact match after URL normalization, fragment dropped). */
export interface RecordedFetch {
  url: string;
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

/** One event for one isolate. */
export interface RunRequest {
  bundle: { id: string; code: string; filename: string };
  event: GuestEvent;
  /** Bytes of the incoming message's attachments, by index. */
  attachments: Uint8Array[];
  /** The bot's state before the event: key → JSON text. */
  state: Record<string, string>;
  /**
   * Names exactly this state of this bot (messageIds.botAddr): the same token never stands for
   * another state (service/bot-state-file.ts makes them). With it, a runner that holds the state from an
   * earlier event is not sent it again (state-cache.ts); without it, the state is always sent.
   */
  stateToken?: string;
  limits: EventLimits;
  /** The host clock at the start of the event (ms since epoch); `bot.now()` advances from it. */
  nowMs: number;
  /** Test kit: `bot.now()` stays at `nowMs` for the whole event, so tests are exact to the ms. */
  freezeClock?: boolean;
  fetch: FetchPolicy;
  /**
   * Seed of the stable Message-IDs of this event's mails (host/wire/message-id.ts): the bridge
   * answers bot.reply/bot.send with the id of action i, and outbound writes the same id into its
   * mail. `eventKey` must be the same on a retry of the event (the incoming Message-ID, a tick's time).
   */
  messageIds: { botAddr: string; eventKey: string };
}

export type RunStatus = "ok" | "bot-error" | "cpu-limit" | "wall-limit" | "memory-limit" | "output-limit";

/** A line the bot logged, with its time offset from the event start (ms). */
export interface LogEntry {
  level: LogLevel;
  text: string;
  atMs: number;
}

/** Which limit ended an event, its value and unit. */
export interface LimitHit {
  name: keyof EventLimits;
  value: number;
  unit: "ms" | "bytes" | "count";
}

/** An error as the author sees it: stable code, message, and the guest stack (bundle positions). */
export interface RunError {
  code: string;
  message: string;
  stack?: string;
}

/** The typed outcome of one event. Actions and state are applied only when status is "ok". */
export interface RunResult {
  status: RunStatus;
  actions: Action[];
  logs: LogEntry[];
  /** The new state when the event ended ok and changed it; otherwise null (keep the old one). */
  state: Record<string, string> | null;
  /** Names `state` as RunRequest.stateToken does: the runner that ran the event holds it under this token. */
  stateToken?: string;
  /** What the event changed, when `state` is set and the runner sent only that (its state file appends it: bot-state-file.ts). */
  stateChanges?: StateChanges;
  error?: RunError;
  limit?: LimitHit;
  /** Time spent running guest code, ms. */
  cpuMs: number;
  /** Time from the start of the event to its end, ms. */
  wallMs: number;
  /** Peak QuickJS heap observed during the event, bytes (sampled; see README "Limits"). */
  memoryBytes: number;
  fetch: { count: number; bytesIn: number; bytesOut: number };
  /** Replay mode only (HostFetchSettings.recorded): every URL the bot asked for, in order, refused ones included. */
  fetchedUrls?: string[];
}

/**
 * The result of an event whose guest was stopped from outside (the watchdog killed its runner, or
 * the runner stopped its sandbox thread): nothing it produced is kept, its memory is unknown (0).
 */
export function stoppedResult(ending: Pick<RunResult, "status" | "limit" | "error">, cpuMs: number, wallMs: number): RunResult {
  return { ...ending, actions: [], logs: [], state: null, cpuMs, wallMs, memoryBytes: 0, fetch: { count: 0, bytesIn: 0, bytesOut: 0 } };
}
