// Every event the host logs, with its fields typed: the one vocabulary of `host serve`'s log
// (logs/host.jsonl and stdout, one JSON object per line), its metrics (metrics.ts) and the tests.
// Producers get one injected `HostLog`; `host serve` writes `logLine(event)` and hands the event
// itself to the metrics. Field names and values are exactly what the lines on disk have carried
// (operators and `chatbot host logs/bots` read them), in the order each producer writes them.
// Control never rides on a log line: the LMTP door wakes the drain loop through its own callback
// (lmtp-server.ts `onSpooled`).
//
// Each member is a type alias (not an interface) so an event is also a plain
// `Record<string, unknown>`, which is what the line writer (bound-log-line.ts) takes.
import type { RunStatus } from "../executor/run-types.js";
import type { SkipCode } from "../wire/skip-rules.js";
import type { DeadLetterCode, FailureKind } from "./failure-class.js";
import type { Refusal, RefusedAction } from "./bot-policy.js";

/** A bot's failed run, as `bot.event` / `bot.tick` carry it: the error's code and its message. */
type RunFailure = { error?: string; message?: string };

/** One incoming mail or tick ran in the sandbox (handle-mail.ts). */
export type BotRunEvent =
  | ({
      event: "bot.event";
      bot: string;
      from: string;
      status: RunStatus;
      cpuMs: number;
      wallMs: number;
      memoryBytes: number;
      sent: number;
      /** Actions that could not become mail, with why (outbound.ts). */
      skipped?: Array<{ index: number; code: SkipCode; reason: string }>;
      /** Actions consent held back (bot-policy.ts permittedActions). */
      noConsent?: RefusedAction[];
    } & RunFailure)
  | ({
      event: "bot.tick";
      bot: string;
      /** The tick's time, ms since the epoch (it replaces the line's ISO `at`, log-lines.ts lineTime). */
      at: number;
      status: RunStatus;
      cpuMs: number;
      sent: number;
      /** As for bot.event: a tick's actions meet the same outbound rules. */
      skipped?: Array<{ index: number; code: SkipCode; reason: string }>;
      noConsent?: RefusedAction[];
    } & RunFailure);

/** What became of a mail before or instead of a run (handle-mail.ts, entry-pipeline.ts). */
export type MailEvent =
  | { event: "mail.dropped"; bot: string; reason: string }
  | { event: "mail.held"; bot: string; reason: string }
  | { event: "group.update"; bot: string; detail: string }
  | { event: "securejoin"; bot: string; detail: string }
  /** A new entry of a bot its author paused (entry-pipeline.ts): its mail went to the account's INBOX unrun, or its tick was dropped. */
  | { event: "bot.paused"; bot: string; entry: string; kind: "mail" | "tick"; to: "mailbox" | "dropped" }
  /** Not now: the entry waits in the spool until `until` (ms since epoch). `from` when an incoming mail waits (not for state writes). */
  | { event: "bot.deferred"; bot: string; from?: string; reason: string; until: number }
  /**
   * The host answered instead of the bot. `reason` is the sentence on the line; `refusal` says the
   * same as data for the metrics and is not written (the line stays as it always was, see logLine).
   */
  | { event: "bot.refused"; bot: string; from: string; reason: string; notified: boolean; refusal: Refusal };

/** The spool and the drain loop (entry-pipeline.ts, tick-scheduler.ts, host-service.ts, host-serve.ts). */
export type SpoolEvent =
  | { event: "tick.queued"; bot: string; at: number }
  | { event: "spool.resume"; bot: string; entry: string; submitted: number; of: number }
  | { event: "spool.retry"; bot: string; entry: string; code: FailureKind; attempts: number; nextAttemptAt: number; error: string }
  | { event: "spool.dead"; bot: string; entry: string; code: DeadLetterCode; attempts: number; reason: string; why?: string }
  | { event: "spool.recovered"; files: number };

/** The LMTP door (lmtp-server.ts). */
export type LmtpEvent =
  | { event: "lmtp.listening"; socket: string }
  /** host.json transportMap brought in line with the installed bots (transport-map.ts); changed: rewritten and postmap'd. */
  | { event: "routing.synced"; file: string; bots: number; changed: boolean }
  /** The transport table could not be rebuilt: new bots are not routed until it can (the message says how). */
  | { event: "routing.failed"; message: string }
  | { event: "lmtp.rcpt-refused"; rcpt: string }
  /** `from`: the envelope sender, "" for a null sender. */
  | { event: "lmtp.spooled"; bot: string; entry: string; from: string }
  /** `bot` is absent only for a transaction without recipients (smtp-server never hands one over). */
  | { event: "lmtp.spool-failed"; bot: string | undefined; error: string }
  | { event: "lmtp.error"; error: string };

/** Deploys and account logins (deploy-watcher.ts). */
export type DeployEvent =
  | { event: "account.error"; bot: string; error: string; lastLoginAt: number | null }
  | { event: "account.refreshed"; bot: string; previousLoginAt: number | null }
  | { event: "install.refused"; bot: string; uid: number; reason: string }
  | { event: "install.deployed"; bot: string; name: string; version: string; author: string; upgrade: boolean }
  | { event: "install.unchanged"; bot: string; version: string }
  /** A control deploy (`chatbot deploy --pause/--resume/--remove`) was carried out. */
  | { event: "install.paused" | "install.resumed" | "install.removed"; bot: string }
  | { event: "install.error"; bot: string; error: string }
  /** The deploy inbox (deploy-inbox.ts) is watched; Dovecot's hook dropped a deploy into it; one was refused before any install. */
  | { event: "deploy.watching"; inbox: string }
  | { event: "deploy.received"; account: string; bytes: number }
  | { event: "deploy.refused"; account: string; reason: string }
  /** A file in the inbox that no hook of ours writes (its name says no account): removed. */
  | { event: "deploy.stray"; file: string }
  /** `host doctor`'s probe mail reached the bot's door through Postfix (route-probe.ts): settled, never run. */
  | { event: "route.probe"; bot: string; nonce: string }
  /** `host doctor`'s probe reached the inbox (deploy-check.ts): dropped, never installed. */
  | { event: "deploy.probe"; account: string; nonce: string }
  | { event: "deploy.error"; error: string }
  /** A notice to a deploying account (author-notices.ts): how it went out (null: no relay bot host, only this line), or why it could not. */
  | { event: "notice"; account: string; kind: string; text: string; delivery: "verified" | "encrypted" | "plain" | "limited" | null }
  | { event: "notice.failed"; account: string; kind: string; error: string }
  /** Mail that reached a just-routed bot's INBOX was moved to the spool (inbox-catch-up.ts); one was too large; a look failed. */
  | { event: "inbox.caught-up"; bot: string; mails: number }
  | { event: "inbox.catch-up-skipped"; bot: string; uid: number; reason: string }
  | { event: "inbox.catch-up-error"; bot: string; error: string }
  /** A deploy logged in as an installed bot with a password other than the stored one (the account's was changed): now stored. */
  | { event: "account.password-changed"; bot: string }
  /** A deploy the hook dropped was not found in the folder after every look (DEPLOY_INBOX_LOOKS): the poll may still find it. */
  | { event: "deploy.missed"; account: string; why: "not a deploy message" | "handled with an earlier deploy" | "gone from the folder" };

/** The bots' state copies in their accounts (state-mirror.ts). */
export type StateMirrorEvent =
  /** A pull of copy `uid` failed (uid set), or a push or pull failed and waits until `retryAt` (attempts and retryAt set). */
  | { event: "state.mirror-error"; bot: string; op: "push" | "pull"; uid?: number; attempts?: number; retryAt?: number; error: string }
  | { event: "state.restored"; bot: string; version: number; keys: number }
  | { event: "state.mirrored"; bot: string; version: number; bytes: number };

/** The service's life and its own failures (host-serve.ts, and any part that catches an unexpected error). */
export type ServiceEvent =
  | { event: "service.started"; dataDir: string; lmtp: string | null }
  /**
   * At start: the walls runners get (host/confine/runner-walls.ts). `up` and `down` name layers;
   * `confined` is false when no layer is up or they fail together (runners then start plain).
   */
  | { event: "runner.walls"; confined: boolean; up: string[]; down: Array<{ layer: string; why: string; fix: string }>; together: string }
  | { event: "service.drained"; entries: number }
  /** The door started its pipeline process (pipeline-door.ts): at start, for a poke (mail), a notice, a due time, or again after it died. */
  | { event: "pipeline.started"; pid: number | null; why: "start" | "poke" | "notice" | "due" | "restart" }
  /** The pipeline process rested (exited with nothing to do); the door starts it again at `nextDueAt` (ISO 8601; null: on the next mail). */
  | { event: "pipeline.rested"; pid: number | null; nextDueAt: string | null }
  /** The pipeline evicted `count` bots without an event in flight (core/limits.ts LOADED_BOTS): over its cap, or idle; `loaded` stay. */
  | { event: "bots.evicted"; count: number; loaded: number; why: "cap" | "idle" }
  | { event: "service.stopping" }
  | { event: "service.failed"; error: string }
  | { event: "service.stop-error"; part: string; error: string }
  | { event: "service.error"; bot?: string; entry?: string; message: string }
  | { event: "metrics.error"; file: string; error: string };

/** Everything the host logs. */
export type HostEvent = BotRunEvent | MailEvent | SpoolEvent | LmtpEvent | DeployEvent | StateMirrorEvent | ServiceEvent;

/** The one logger every part of the host is given. */
export type HostLog = (event: HostEvent) => void;

/** The event named `name`. */
export type HostEventOf<Name extends HostEvent["event"]> = Extract<HostEvent, { event: Name }>;

/** What is written for an event: the event without its data-only fields (bot.refused's `refusal`), so the line on disk is what it always was. */
export function logLine(event: HostEvent): Record<string, unknown> & { event: string } {
  if (event.event !== "bot.refused") return event;
  const { refusal: _refusal, ...line } = event;
  return line;
}
