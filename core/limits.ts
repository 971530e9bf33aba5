// Every limit lives here (STYLE principle 5): the unit is in the name, each has a default,
// and each has two tests (at the cap passes, one over fails) beside the tests of the module that
// enforces it.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Limits that hold for one event in one isolate. */
export interface EventLimits {
  /** Guest CPU time: time spent executing guest code, summed over the event. */
  cpuMsPerEvent: number;
  /** Wall time from the start of the event to its end, including awaited fetches. */
  wallMsPerEvent: number;
  /** Hard cap of the isolate's memory: QuickJS heap limit and the WASM memory's maximum. */
  memoryBytes: number;
  /** Actions (reply, send, webxdc-status, delete, resend, react) the bot may record in one event. */
  actionsPerEvent: number;
  /** Bytes of all actions' payloads together in one event (text + file, update JSON, emoji, target ids). */
  actionBytesPerEvent: number;
  /** Bytes of `bot.log` text in one event; more ends the event with output-limit. */
  logBytesPerEvent: number;
  /** Bytes of the bot's whole state (keys + JSON values, UTF-8). */
  stateBytes: number;
  /** Fetches one event may start. */
  fetchesPerEvent: number;
  /** Bytes of one fetch response body; a larger response fails that fetch. */
  fetchResponseBytes: number;
  /** Time one fetch may take, capped further by what is left of the event's wall budget. */
  fetchTimeoutMs: number;
}

/** Limits per user of a bot, enforced by the host service (issue 4); declared in the manifest. */
export interface PerUserLimits {
  /** Mails from one user the bot handles in any rolling hour. */
  mailsPerHour: number;
  /** Mails from one user the bot handles in any rolling day. */
  mailsPerDay: number;
  /** Bytes of one user's mail the bot handles in any rolling hour. */
  bytesPerHour: number;
  /** Guest CPU time one user's events may use in any rolling hour. */
  cpuMsPerHour: number;
}

/** The memory every QuickJS module needs before a bot allocates anything (its initial WASM memory). */
export const MODULE_BASE_MEMORY_BYTES = 16 * MiB;
/** QuickJS's own stack limit inside the runner's Worker (whose Node stack is STACK_WORKER_MB). */
export const QUICKJS_STACK_BYTES = 256 * KiB;
/** Node stack of the Worker thread that runs QuickJS: WASM recursion uses it (DESIGN §2). */
export const STACK_WORKER_MB = 16;
/**
 * V8 old space of a runner process (`--max-old-space-size`), MB: the host-side copies of what a
 * guest hands over (each bounded by the event caps) live there; the WASM memory does not count.
 */
export const RUNNER_OLD_SPACE_MB = 256;
/**
 * `host serve` stops its runners after this long without an event, ms, and the next event starts
 * one (~100-200 ms of CPU and latency, once per conversation that pauses this long): a host at
 * rest then holds only its own process (~90 MiB) instead of that plus a runner (~58 MiB each;
 * issue 15, idle footprint beside a resident Delta Chat bot).
 */
export const RUNNER_IDLE_STOP_MS = 30_000;
/** Grace the parent allows past the wall budget before it kills a runner (its watchdog), ms. */
export const WATCHDOG_GRACE_MS = 1000;
/**
 * Time an interrupted guest (over its CPU, wall or output budget) has to end its event before the
 * runner terminates its sandbox thread, ms. Ending normally takes a few ms (freeing a full heap
 * ~100 ms under load); a guest still running is one that caught the interruption (QuickJS turns it
 * into an ordinary rejection when it leaves an async function), and the event is a limit hit either way.
 */
export const INTERRUPTED_STOP_GRACE_MS = 500;
/**
 * CPU time of the sandbox thread past the event's cpuMsPerEvent after which the runner stops that
 * thread from outside, ms. QuickJS asks its interrupt handler only between bytecodes, every ~10 000
 * of them: one long built-in call (a default sort of 1e6 numbers, ~0.75 s) or exceptions thrown and
 * caught at the stack's limit (each one walks the whole stack to build its trace; 2 polls in 6 s,
 * measured) never reach a poll, and ran until the wall budget's watchdog, 30 s of CPU by default
 * (issue 12 follow-up). 1000 ms leaves room for what the thread does for an event outside guest code
 * (building the event's values, a recycled slot, the result's copy: a few ms, ~100 ms for a full
 * heap under load), so a bot within its budget is never stopped by this.
 */
export const CPU_BACKSTOP_GRACE_MS = 1000;
/** How often the runner reads the sandbox thread's CPU time while an event runs, ms (a read is ~3 µs). */
export const CPU_BACKSTOP_POLL_MS = 100;
/**
 * Promise jobs run per call into QuickJS before the driver checks the event's budgets again: a guest
 * that catches its interruption in an async function otherwise keeps queueing jobs inside one call.
 */
export const JOBS_PER_SLICE = 64;
/**
 * Longest string with NUL characters (or lone surrogates) that crosses the bridge, in UTF-16 code
 * units. quickjs-emscripten passes strings as C strings, so such a string takes a JSON detour in the
 * sandbox's memory (up to 6 bytes per character); longer ones are refused (E_ARGUMENT), never cut.
 */
export const NUL_STRING_MAX_CHARS = 1024 * 1024;
/** Largest source bundle the host loads, bytes. */
export const BUNDLE_MAX_BYTES = 5 * MiB;
/** Largest plaintext mail the host parses; larger input is refused before parsing, bytes. */
export const MAIL_MAX_BYTES = 31_457_280; // relay's message_size_limit (30 MiB)
/**
 * Longest outer `To` the host parses when the protected headers carry none (core 1.139 sends it
 * outside only; mime/outer-fallbacks.ts), bytes summed over its values: room for ~1 500 members.
 * Parsing costs ~5 µs per address on this machine, so an unbounded one (30 MiB) would hold the
 * host for ~20 s; a longer one counts as no recipients.
 */
export const OUTER_TO_MAX_BYTES = 64 * KiB;
/**
 * Longest `Autocrypt` or `Autocrypt-Gossip` value the host parses, characters: a core key is ~0.6 KB
 * of base64, an RSA-4096 key with its signatures a few KB. The outer headers are bounded only by
 * the mail's size, and core 1.x sends its key there (inbound.ts), so a 30 MiB key is refused
 * before base64 decoding and OpenPGP parsing.
 */
export const AUTOCRYPT_HEADER_MAX_CHARS = 64 * KiB;
/**
 * How far into a mail `host deliver` (host/service/mail-shape.ts) looks for the empty line that
 * ends the header (RFC 5322 §2.1), bytes from the mail's first byte up to and including that
 * line's LF. A mail without one there can never be parsed and is refused for good (exit 65).
 */
export const MAIL_SHAPE_SCAN_BYTES = 1 * MiB;
/**
 * Bytes of a mail's first line `host deliver` keeps to check that it is a header field (a name,
 * then ":"); no ":" in them and the mail is refused (exit 65). RFC 5322 §2.1.1 allows 998 per line.
 */
export const MAIL_SHAPE_FIRST_LINE_BYTES = 1000;
/**
 * MIME entities in one decrypted inner message, the root included (host/wire/mime/parse-inner.ts,
 * mailparser's splitter): more is refused (E_MAIL_TOO_LARGE). A 10 000-level nest would cost the
 * parser a deep stack; a Delta Chat message has a handful of entities.
 */
export const INNER_MAX_MIME_NODES = 1000;
/**
 * Bytes of one inner entity's header section as mailparser's splitter counts them (every line at
 * least 64, the ending empty line its own size); more is refused (E_MAIL_TOO_LARGE). 1 MiB is the
 * splitter's own default.
 */
export const INNER_MAX_HEADER_BYTES = 1 * MiB;

/** Largest JSON of one outgoing webxdc status update as sent (`{"updates":[update]}`, UTF-8), bytes (PROTOCOL §5). */
export const WEBXDC_UPDATE_MAX_BYTES = 100 * KiB;
/** Longest Message-ID a bot may name (reply target, webxdc instance, delete/react/resend target), characters with brackets. */
export const MESSAGE_ID_MAX_CHARS = 256;
/** Longest chat id a bot may name (an address is at most 254; "group:" + 32 is shorter), characters. */
export const CHAT_ID_MAX_CHARS = 320;
/** Longest address a bot may name (addToGroup), characters (RFC 5321 §4.5.3.1.3 path minus the brackets). */
export const ADDR_MAX_CHARS = 254;
/** Largest reaction a bot may send (one or a few emoji), UTF-8 bytes. */
export const REACTION_MAX_BYTES = 64;
/** Longest text field of a webxdc update (info, summary, document, href), characters. */
export const WEBXDC_FIELD_MAX_CHARS = 1024;

/*
 * The host bridge (host/executor/host-bridge.ts). Every string or ArrayBuffer a guest hands the
 * host is measured on its handle (a string's length, a buffer's byteLength) and refused over its
 * cap before it is copied out of the sandbox, so the host's work for one call is bounded by these
 * caps and the event caps above (what is left of actionBytesPerEvent, logBytesPerEvent, stateBytes).
 */
/** Longest name of a file a bot sends, UTF-8 bytes: NAME_MAX of Linux file systems (ext4, btrfs, xfs). */
export const FILE_NAME_MAX_BYTES = 255;
/** Longest MIME type of a file a bot sends, characters: type "/" subtype, each at most 127 (RFC 6838 §4.2). */
export const FILE_TYPE_MAX_CHARS = 255;
/**
 * Longest JSON text of one action handed to `emit`, UTF-16 code units. A message's text and file
 * bytes cross beside the JSON, so this only holds ids and a webxdc update: the largest update
 * (WEBXDC_UPDATE_MAX_BYTES) with every other field at its cap fits with room.
 */
export const ACTION_JSON_MAX_CHARS = 256 * KiB;
/** Deepest nesting of arrays/objects in an action's JSON (a webxdc payload), levels: V8's JSON.parse costs ~0.6 µs per level. */
export const ACTION_JSON_MAX_DEPTH = 1000;
/** Longest JSON text of one fetch request (URL, method, headers), UTF-16 code units: above what servers accept (8–16 KiB of headers). */
export const FETCH_REQUEST_JSON_MAX_CHARS = 64 * KiB;
/** Largest text `utf8Encode`/`utf8Decode` convert in one call, bytes: above the largest mail (MAIL_MAX_BYTES), so any attachment converts. */
export const UTF8_CONVERT_MAX_BYTES = 32 * MiB;
/**
 * What one `bot.log` entry counts against logBytesPerEvent besides its text, bytes: about what its
 * level and time take in a log, so 10 000 empty entries end the event like 320 KB of text would.
 */
export const LOG_ENTRY_OVERHEAD_BYTES = 32;
/** Longest name of a thrown error the host reports (RunError.message starts with it), characters. */
export const GUEST_ERROR_NAME_MAX_CHARS = 200;
/** Longest message of a thrown error (or text of a thrown non-Error) the host reports, characters. */
export const GUEST_ERROR_MESSAGE_MAX_CHARS = 2000;
/** Longest stack of a thrown error the host reports, characters. */
export const GUEST_ERROR_STACK_MAX_CHARS = 4000;
/**
 * Largest line of the host's own log (`host serve`: stdout and logs/host.jsonl), UTF-8 bytes with
 * its newline; host/service/bound-log-line.ts cuts longer fields (LOG_FIELD_MAX_CHARS) and says so.
 */
export const LOG_LINE_MAX_BYTES = 16 * KiB;
/** Longest field of a host log line before it is cut, characters (of the string, or of a nested value's JSON). */
export const LOG_FIELD_MAX_CHARS = 4 * KiB;
/** Sent mails a bot remembers for delete/resend: at most this many (oldest forgotten first)… */
export const SENT_MAX_MESSAGES = 1000;
/** …none older than this, ms (7 days: the relay expires large mail after 7 days)… */
export const SENT_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** …and at most this many bytes of raw mail together. */
export const SENT_MAX_BYTES = 256 * MiB;

/**
 * Message-IDs one bot remembers as handled (host/wire/seen-store.ts); beyond it the oldest are
 * forgotten, and mail signed before the newest forgotten one was recorded is refused as a possible
 * replay (SEEN_CLOCK_SKEW_MS). Postfix re-delivers within days; the relay deletes mail after 20.
 */
export const SEEN_MAX_IDS = 10_000;
/**
 * How far a mail's signature time may lie after the moment the host recorded it as handled, ms:
 * the margin the replay check adds to the seen store's horizon. openpgp.js refuses signatures
 * from its own clock's future, so within one host this only covers a step of the clock between
 * verifying and recording (an NTP correction) — 10 minutes is far above the usual ones.
 */
export const SEEN_CLOCK_SKEW_MS = 10 * 60_000;
/**
 * Events one bot runs on mail from one automated sender (another of this host's bots, or mail
 * whose protected headers say `Auto-Submitted: auto-generated`) in any rolling hour; more mail from
 * that sender is dropped (host/policy/loop-guard.ts). A dropped mail is not answered, so two bots
 * answering each other stop after this many rounds each.
 */
export const BOT_EXCHANGE_EVENTS_PER_HOUR = 10;
/** Automated senders one bot counts events for; beyond it the longest silent are forgotten first. */
export const BOT_EXCHANGE_MAX_SENDERS = 1000;

/*
 * Halves of split messages one bot holds until their other half comes (host/wire/pending-store.ts):
 * a half past any of these is forgotten, the oldest first.
 */
/** Halves one bot holds. */
export const PENDING_MAX_ENTRIES = 64;
/** Raw bytes of all held halves of one bot together (two post-messages of the relay's 30 MiB fit); one larger half is not held. */
export const PENDING_MAX_BYTES = 64 * MiB;
/**
 * How long a half waits for the other one, ms. The sending core sends both right after each other;
 * the relay deletes large mail after 7 days, so after that the other half cannot come any more.
 */
export const PENDING_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * Parsed peer keys the host process keeps for all its bots (host/wire/pgp/peer-keys.ts); beyond it
 * the least recently used go: openpgp's readKey and self-signature checks cost ~1 ms a key, on
 * every mail otherwise. A parsed Curve25519 key holds ~7.7 KiB of heap (1 000 parsed, measured): ~8 MiB at the cap.
 */
export const PARSED_PEER_KEYS_MAX = 1024;
/**
 * Autocrypt-Gossip headers one mail may make the host read (pgp keys other members announced for
 * a group, host/wire/inbound.ts); the rest are ignored. A group of this many members still reaches
 * its bot (SESSION_KEY_PACKETS_MAX); each unknown key costs a parse (~1 ms).
 */
export const GOSSIP_KEYS_PER_MAIL_MAX = 1000;
/**
 * Peers one bot keeps from gossip alone (host/wire/peer-store.ts): an address another member
 * vouched for, not the peer itself. Beyond it gossip adds no one (a peer that writes to the bot
 * is kept whatever the count). Any verified sender may gossip up to GOSSIP_KEYS_PER_MAIL_MAX made-up
 * addresses per mail, and before this cap each one rewrote the whole store: 800 of them cost 3.6 s
 * of CPU, growing with the square of their number, and the store without end (measured).
 */
export const GOSSIP_PEERS_MAX = 10_000;
/**
 * Members one group keeps (host/wire/group-store.ts): those it had first, then new ones up to this
 * many. A group of this many members still reaches its bot (SESSION_KEY_PACKETS_MAX).
 */
export const GROUP_MEMBERS_MAX = 1000;
/** Characters of a group's name the bot keeps (longer names are cut): core shows a line of it. */
export const GROUP_NAME_MAX_CHARS = 256;
/**
 * Bytes (compact JSON) of all groups one bot keeps; beyond it the groups changed longest ago are
 * forgotten, and one is joined again from its next message's headers (the bot in its To). Any
 * sender could start a new group with each mail, each kept forever and each mail rewriting them
 * all: the store grew without end.
 */
export const GROUP_STORE_MAX_BYTES = 4 * MiB;
/**
 * Parsed group files (group-store.ts) one process keeps between calls, bytes of their JSON: the
 * files of the bots with recent group mail, the least recently used dropped first. A parsed file
 * takes ~2–3× its JSON in memory; 16 MiB of JSON keeps four full stores or many small ones.
 */
export const PARSED_GROUP_FILES_MAX_BYTES = 16 * MiB;
/** Age after which a parsed key is parsed and checked again (expiry, revocation), ms. */
export const PARSED_KEY_TTL_MS = 10 * 60 * 1000;

/** Defaults: the relay operator's ceilings from the seed. A manifest may only lower them. */
export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = Object.freeze({
  cpuMsPerEvent: 1000,
  wallMsPerEvent: 30_000,
  memoryBytes: 128 * MiB,
  actionsPerEvent: 100,
  actionBytesPerEvent: 30 * MiB,
  logBytesPerEvent: 64 * KiB,
  stateBytes: 1 * MiB,
  fetchesPerEvent: 20,
  fetchResponseBytes: 10 * MiB,
  fetchTimeoutMs: 10_000,
});

/** Per-user defaults from the seed (60 mails/hour, 120/day, 60 MB/hour, 60 s CPU/hour). */
export const DEFAULT_PER_USER_LIMITS: Readonly<PerUserLimits> = Object.freeze({
  mailsPerHour: 60,
  mailsPerDay: 120,
  bytesPerHour: 60_000_000,
  cpuMsPerHour: 60_000,
});

/** CPU budget of one bot across all its events, enforced by the host service (host/policy/cpu-budget.ts). */
export interface BotLimits {
  /** Guest CPU time in any rolling hour: 1% of one core = 36 000 ms. */
  botCpuMsPerHour: number;
  /** Guest CPU time in any rolling day: 0.1% of one core = 86 400 ms. */
  botCpuMsPerDay: number;
}

/** Per-bot defaults from the seed (~1% CPU per hour, 0.1% per day). Over budget, events wait in the spool. */
export const DEFAULT_BOT_LIMITS: Readonly<BotLimits> = Object.freeze({
  botCpuMsPerHour: 36_000,
  botCpuMsPerDay: 86_400,
});

/**
 * What one relay lets unattended bots have (issue 13, host.json `quotas`): any account may deploy
 * its own bot, so each install is checked against these and refused over any, with the reason.
 */
export interface RelayQuotas {
  /** Bots installed on this host: a new bot over it is refused (upgrades are not). */
  maxBots: number;
  /**
   * Bytes of one bot's folder after an install: its bundle, the one before it (kept for rollback),
   * its state and its stores. The spool is not counted: a bot's queued mail is bounded by the LMTP
   * door's size cap and its users' hourly limits.
   */
  botDiskBytes: number;
  /** Installs of one bot (first deploys and upgrades) in any rolling 24 hours. */
  deploysPerDay: number;
}

/**
 * 200 bots: each is an IMAP login every `imap.pollSeconds` (300 s), well under one a second. 64 MiB
 * a bot: two bundles at BUNDLE_MAX_BYTES (5 MiB) with their source maps, the state at its 1 MiB
 * ceiling and the wire stores, with room. 24 deploys a day: one an hour on average, plenty for
 * someone trying things, not a disk-churning loop.
 */
export const DEFAULT_RELAY_QUOTAS: Readonly<RelayQuotas> = Object.freeze({
  maxBots: 200,
  botDiskBytes: 64 * MiB,
  deploysPerDay: 24,
});

/**
 * Removed folders (`chatbot deploy --remove`, `host remove`) kept per address under DATA/removed:
 * the newest two undo a slip; older ones go, so a deploy → remove loop cannot fill the disk (each
 * copy is at most quotas.botDiskBytes).
 */
export const REMOVED_COPIES_PER_BOT = 2;

/**
 * Longest sleep of an idle drain loop, ms: doors poke it (LMTP, the spool folder's watch) and it
 * wakes for the first waiting entry's retry anyway, so this only paces the tick scan (TICK_SCAN_MS).
 */
export const DRAIN_IDLE_MS = 30_000;
/**
 * A host that did work (handled mail, scanned for ticks) and then had nothing to do for this long
 * collects its garbage once (host-service.ts, service/idle-gc.ts), ms: the drain loop wakes for it.
 * Shorter than RUNNER_IDLE_STOP_MS, so an idle host is collected before it is at rest. Measured (issue 15): 10 000
 * installed bots then add ~4 MiB to serve's RSS over 1 bot, not 9–22 MiB (the start-up scan's
 * garbage stayed in V8's heap); one collection costs ~20–35 ms of CPU.
 */
export const IDLE_GC_MS = 20_000;
/**
 * How often the drain loop looks for due ticks, ms: a look stats every installed bot's bot.json and
 * manifest (and reads them when they changed), so every 5 minutes, not every second (issue 15: idle
 * cost must not grow with the bots). An hourly tick is at most this late (DRAIN_IDLE_MS more when idle).
 */
export const TICK_SCAN_MS = 5 * 60_000;
/**
 * `host serve` runs the mail pipeline (decrypt, sandbox, compose, encrypt, SMTP, ticks, deploys,
 * state copies) in a process of its own, which rests (exits) after this long with nothing to do
 * and nothing due sooner, ms; the next mail, due tick, retry or login starts it again (~0.8 s of
 * CPU and ~1 s before that first mail is answered). At rest only the door (LMTP, spool, timers)
 * stays: ~55 MiB instead of ~90 (issue 15 part 5). The same as RUNNER_IDLE_STOP_MS: a conversation
 * that pauses longer already pays a runner's start.
 */
export const PIPELINE_REST_AFTER_MS = 30_000;
/** How often the pipeline process looks whether it may rest, ms (a sixth of PIPELINE_REST_AFTER_MS: it rests at most this much later). */
export const PIPELINE_REST_CHECK_MS = 5_000;
/** A pipeline process that died without resting is started again after this long, doubled per death in a row up to PIPELINE_RESTART_MAX_MS, ms. */
export const PIPELINE_RESTART_MIN_MS = 1_000;
export const PIPELINE_RESTART_MAX_MS = 60_000;
/**
 * How long a new pipeline process waits for the one before it to let go of <data>/pipeline.lock,
 * ms: after a `kill -9` of `host serve` its pipeline finishes the entry in progress (a run's wall
 * limit, then its SMTP submission) before it exits.
 */
export const PIPELINE_LOCK_WAIT_MS = 120_000;

/** Users whose usage one bot remembers; beyond it the least recently active are forgotten (idle ones go after a day anyway). */
export const USER_USAGE_MAX_USERS = 2000;

/** Outbound pacing of one bot account (host/policy/send-pacer.ts), kept below the relay's GCRA (PROTOCOL §1: 60/min, burst 10). */
export interface SendPacing {
  /** Steady outbound mails per minute: one every 60 000 / sendsPerMinute ms. */
  sendsPerMinute: number;
  /** Mails that may go back to back after the account was idle. */
  sendBurst: number;
}

/**
 * 50/min (one per 1.2 s) and a burst of 8 against the relay's 60/min and 10: the rate slack makes
 * our bucket refill slower than the relay's, and the two spare burst slots absorb arrival jitter (a
 * burst that reaches the relay late, then the next paced mail on time) and a mail the account sends
 * outside the pacer, so pacing alone never earns a `450 4.7.1`.
 */
export const DEFAULT_SEND_PACING: Readonly<SendPacing> = Object.freeze({
  sendsPerMinute: 50,
  sendBurst: 8,
});

/** Contacts (people who wrote to a bot, or sent /stop) one bot remembers; the longest silent are forgotten first. */
export const CONSENT_MAX_CONTACTS = 50_000;
/** Groups that wrote to one bot it remembers; the longest silent are forgotten first. */
export const CONSENT_MAX_GROUPS = 10_000;

/** Lowest values that still make sense; below these an event could never run. */
export const EVENT_LIMIT_FLOORS: Readonly<EventLimits> = Object.freeze({
  cpuMsPerEvent: 1,
  wallMsPerEvent: 10,
  memoryBytes: MODULE_BASE_MEMORY_BYTES + 4 * MiB,
  actionsPerEvent: 0,
  actionBytesPerEvent: 0,
  logBytesPerEvent: 0,
  stateBytes: 0,
  fetchesPerEvent: 0,
  fetchResponseBytes: 0,
  fetchTimeoutMs: 1,
});

/** The event limits the manifest may set (the rest are host-only). */
export const MANIFEST_EVENT_LIMIT_KEYS = ["cpuMsPerEvent", "wallMsPerEvent", "memoryBytes"] as const;

/** Resolve an event's limits: start from the ceilings, apply lower values; never exceed a ceiling. */
export function effectiveEventLimits(ceilings: Readonly<EventLimits>, requested: Partial<EventLimits>): Readonly<EventLimits> {
  const result = { ...ceilings };
  for (const key of Object.keys(requested) as Array<keyof EventLimits>) {
    const value = requested[key];
    if (value !== undefined) result[key] = Math.min(value, ceilings[key]);
  }
  return Object.freeze(result);
}

/** Per-user limits a manifest asks for, each capped by the operator's ceiling; the rest are the ceilings. */
export function effectivePerUserLimits(ceilings: Readonly<PerUserLimits>, requested: Readonly<Partial<PerUserLimits>>): Readonly<PerUserLimits> {
  const result = { ...ceilings };
  for (const key of Object.keys(requested) as Array<keyof PerUserLimits>) {
    const value = requested[key];
    if (value !== undefined) result[key] = Math.min(value, ceilings[key]);
  }
  return Object.freeze(result);
}

/** The WASM memory maximum in 64 KiB pages for a memory limit in bytes (rounded up). */
export function wasmPagesFor(memoryBytes: number): number {
  return Math.ceil(memoryBytes / (64 * KiB));
}

/*
 * A bot's fetches (host/fetch/), besides fetchResponseBytes, fetchTimeoutMs and fetchesPerEvent.
 */
/** Redirects one fetch follows; one more fails the fetch (E_FETCH_FAILED). Browsers allow 20; an API needs one or two. */
export const FETCH_MAX_REDIRECTS = 5;
/**
 * A redirect's body is thrown away; up to this many bytes of it are read so the connection can be
 * reused, past it the connection is closed instead (the bytes read count as the bot's bandwidth).
 */
export const REDIRECT_DRAIN_BYTES = 64 * KiB;
/**
 * Largest body of one fetch request, bytes: the event's response cap (fetchResponseBytes), so an
 * operator who lowers one lowers both. Over it the fetch fails (E_FETCH_TOO_LARGE) before the body
 * is copied out of the sandbox.
 */
export function fetchRequestBodyMaxBytes(limits: Pick<EventLimits, "fetchResponseBytes">): number {
  return limits.fetchResponseBytes;
}

/**
 * Bytes at the end of logs/host.jsonl that `chatbot host bots` and `chatbot host logs` read (about
 * 60 000 events); an older part of the file is not looked at, and the report says from when on it counts.
 */
export const LOG_TAIL_BYTES = 16 * MiB;

/**
 * `chatbot deploy` (host/deploy/): the deploy message an author appends to the bot account's
 * ChatbotInstall folder. Each part is checked against its cap before it is decoded any further;
 * the whole message is checked against DEPLOY_MESSAGE_MAX_BYTES before it is downloaded at all.
 */
/** Largest deployed manifest (chatbot.json), bytes. */
export const DEPLOY_MANIFEST_MAX_BYTES = 64 * KiB;
/** Largest deployed source map (bot.js.map), bytes; the bundle itself is capped by BUNDLE_MAX_BYTES. */
export const DEPLOY_SOURCE_MAP_MAX_BYTES = 15 * MiB;
/** Largest deployed password, bytes (chatmail's are a few dozen). */
export const DEPLOY_PASSWORD_MAX_BYTES = 256;
/**
 * Largest whole deploy message, bytes: every part at its cap, base64 (4/3 plus line ends) and the
 * headers fit (~27.4 MiB), and it stays under the relay's 30 MiB message size.
 */
export const DEPLOY_MESSAGE_MAX_BYTES = MAIL_MAX_BYTES;
/**
 * The deploy inbox (host/service/deploy-inbox.ts): a folder Dovecot's IMAPSieve hook writes each
 * message appended to a ChatbotInstall folder into, one file per deploy named after the account.
 */
/** How often the host looks into the inbox besides inotify's word, ms (a missed notification waits this long). */
export const DEPLOY_INBOX_SCAN_MS = 5_000;
/** Files the hook leaves in the inbox at most: more deploys while the host is behind (or down) wait for the poll. */
export const DEPLOY_INBOX_FILES_MAX = 64;
/**
 * Files of one account the hook leaves in the inbox at most: a deploy being handled and the next
 * (say, `--pause` right after it). More wait in the account's ChatbotInstall, where the host's look
 * at the account (up to DEPLOY_MESSAGES_PER_CHECK deploys) finds them; one account cannot fill the
 * inbox for the others.
 */
export const DEPLOY_INBOX_FILES_PER_ACCOUNT = 2;
/** While the deploy inbox cannot be used (missing, open to others), `host serve` tries it again this often, ms. */
export const DEPLOY_INBOX_RESTART_MS = 60_000;
/** A hook's temporary file older than this was left by a hook that died, ms: removed. */
export const DEPLOY_INBOX_STALE_MS = 10 * 60 * 1000;
/**
 * Looks into ChatbotInstall after a hook: Dovecot runs the hook while the APPEND is in progress, so
 * the message may not be visible to another session yet. Tries, and the wait before each, ms.
 */
export const DEPLOY_INBOX_LOOKS = 6;
export const DEPLOY_INBOX_LOOK_DELAY_MS = 500;
/**
 * Longest wait between two looks for bots whose IMAP check is due, ms (each bot is checked every
 * imap.pollSeconds; a look reads every bot's bot.json and account.json, so not every few seconds).
 */
export const DEPLOY_WATCH_MAX_MS = 60_000;
/**
 * Logins the watcher's poll starts per second at most: after a restart every bot may be due at
 * once, and 10 000 logins in a row would take a core for minutes. At 5/s the daily refresh of
 * 10 000 bots takes ~33 min of its 24 h; a poll (imap.pollSeconds) shorter than bots / 5 s cannot
 * be kept and runs late instead (with the deploy inbox, the poll is only a fallback: 0 turns it off).
 */
export const DEPLOY_LOGINS_PER_SECOND = 5;
/**
 * Bytes of a message's start the host searches for a header field without parsing it (a deploy's
 * marker, a Message-ID before an APPEND; host/mail/header-block.ts): a chat mail's headers are a
 * few KiB. A doctor's probe, which the host writes itself, is looked for in the first 8 KiB.
 */
export const HEADER_SCAN_BYTES = 16 * 1024;
/**
 * Session key packets (PKESK and SKESK) one encrypted mail may carry. Real cores hide the
 * recipients (every PKESK names the wildcard key ID), so the bot's key is tried on each, one X25519
 * agreement (~1-1.5 ms of CPU) per packet: this bounds what one mail can make the host compute
 * (~1.5 s) while a group of that many members still reaches its bot.
 */
export const SESSION_KEY_PACKETS_MAX = 1000;
/**
 * Largest encrypted message (binary bytes) whose PKESKs are tried one at a time (pgp/decrypt.ts):
 * each failed try reads the message again, so at SESSION_KEY_PACKETS_MAX tries this bounds the
 * extra reading to 256 MB. A chat text from a real core is ~2-4 KiB; a larger message (a file) is
 * decrypted by openpgp.js in one call, trying every PKESK as before.
 */
export const ONE_PKESK_AT_A_TIME_MAX_BYTES = 256 * 1024;
/**
 * PKESKs of one mail that the bot's key opens (pgp/native-decrypt.ts). A sender writes one for each
 * recipient key, so genuine mail has exactly one for the bot; every further one was written to the
 * bot's key with another session key, and each costs a decryption pass over the whole message
 * before its MDC fails: 40 of them made a 20 MB mail cost 6.5 s of CPU instead of 0.9 through
 * openpgp.js (measured). At most this many are tried; a mail with more is refused, E_PGP_DECRYPT.
 */
export const OPENED_SESSION_KEYS_MAX = 2;
/**
 * Signature packets in one decrypted message (pgp/native-decrypt.ts, pgp/decrypt.ts). Checking a
 * signature hashes the whole literal data once more, and a sender may write any number, each
 * ~120 bytes, naming its own key: 1 000 of them over 1 MiB of data cost 0.86 s of CPU natively and
 * 2.1 s through openpgp.js (measured), so one 30 MiB mail could have held the host for many minutes.
 * Cores write one, signed by the sender's key; a mail with more is refused before any is checked,
 * E_PGP_DECRYPT.
 */
export const MESSAGE_SIGNATURES_MAX = 4;
export const PROBE_HEADER_SCAN_BYTES = 8 * 1024;
/** Deploy messages the host looks at in one account per check; more wait for the next check. */
export const DEPLOY_MESSAGES_PER_CHECK = 5;
/**
 * Messages the host lists in one of a bot account's folders (INBOX for the catch-up, ChatbotState):
 * the newest this many. The account can fill its own folders; what the host reads stays bounded
 * (~200 bytes a message listed). The deploy folder is searched by the server instead.
 */
export const FOLDER_LIST_MAX = 1000;
/**
 * The host's IMAP sessions as a bot (host/deploy/imap-mailbox.ts: deploys, state copies, the login
 * refresh): a relay that does not answer must not hold up the host's other bots for long.
 */
/** Time to connect and to get the server's greeting, ms. */
export const IMAP_CONNECT_TIMEOUT_MS = 15_000;
/** Time the connection may stay silent while the host waits for an answer, ms. */
export const IMAP_SOCKET_TIMEOUT_MS = 60_000;
/** Largest IMAP response the host reads, bytes: nothing it reads is larger than a deploy message (plus 1 MiB for the response around it); more ends the session. */
export const IMAP_RESPONSE_MAX_BYTES = DEPLOY_MESSAGE_MAX_BYTES + 1 * MiB;
/**
 * Longest time between two IMAP logins of the host as a bot, ms. chatmail deletes an account after
 * 90 days without an IMAP login (PROTOCOL §1); a daily login leaves 89 days for outages.
 */
export const ACCOUNT_REFRESH_MS = 24 * 60 * 60 * 1000;

/**
 * Writes of one bot's state (bot.state, host/policy/state-io.ts), over a sliding second. The
 * service checks them before it runs an event and counts the event's state write after it; over
 * them, the mail waits in the spool (like the CPU budget), so a bot overshoots by at most one
 * event's state (stateBytes). Host-only: a manifest cannot ask for more.
 */
export interface StateIoLimits {
  /** Bytes of state written in any second (the JSON saved, UTF-8). */
  stateWriteBytesPerSecond: number;
  /** State writes (saves) in any second. */
  stateWriteOpsPerSecond: number;
}

/** The seed's example ceilings: 1 MB/s and 100 IOPS. */
export const DEFAULT_STATE_IO_LIMITS: Readonly<StateIoLimits> = Object.freeze({
  stateWriteBytesPerSecond: 1_000_000,
  stateWriteOpsPerSecond: 100,
});

/** How often `chatbot host serve` looks for changed bot states to push to their accounts (ChatbotState), ms. */
export const STATE_MIRROR_INTERVAL_MS = 5_000;
/**
 * Least time between two pushes of one bot's state, ms (except the last one when the host stops):
 * a bot whose state changes all the time costs its account two IMAP logins a minute, not twelve,
 * and a crash of the machine loses at most this much of the account's copy (state.json keeps all).
 */
export const STATE_MIRROR_MIN_GAP_MS = 30_000;

/**
 * `host serve` writes the per-user and per-bot CPU usage counters at most this often, ms, and at
 * most this long after they changed — not once per event, nor once per pass: single mails a few
 * hundred ms apart share one write (host-service.ts), and a stopping loop writes what it holds.
 * A crash (even kill -9) loses at most this much of counting (never an event or a reply): that
 * many mails may then run over a per-user limit or the CPU budget once.
 */
export const POLICY_FLUSH_MS = 1_000;
/**
 * The bots `host serve`'s pipeline keeps loaded between their events (bot-registry.ts): settings,
 * bundle, key, stores, policy, SMTP submitter. A bot is loaded on its first event and evicted when
 * it has no event in flight and either it was idle for `idleMs` or the loaded ones pass `maxBots`
 * or their bundles `maxBundleChars` (least recently used first). Without it a pipeline that never
 * rests (a busy relay, or pipelineRestSeconds 0) kept every bot that ever had an event: up to
 * 5 MiB of bundle and 10 000 gossiped peers each. A load costs ~1.5 ms of CPU when the bot's key
 * was parsed before (pgp/identity.ts keeps it), ~6 ms when not (measured: `loadInstalledBot`), so
 * the cap only has to hold the bots active within minutes of each other.
 */
export const LOADED_BOTS: Readonly<LoadedBotsLimits> = Object.freeze({ maxBots: 64, maxBundleChars: 32 * MiB, idleMs: 5 * 60_000 });
/** The bounds of the pipeline's loaded bots (LOADED_BOTS). */
export interface LoadedBotsLimits {
  /** Bots loaded at once (in-flight ones may exceed it until they end). */
  maxBots: number;
  /** Their bundles' code, characters in all. */
  maxBundleChars: number;
  /** A bot without an event for this long is evicted, ms. */
  idleMs: number;
}
/**
 * Spool entries of `host serve` whose replies are being submitted over SMTP while the next entries
 * are planned (decrypted, run, journaled): the pipeline's depth. Each holds its plan in memory.
 */
export const SUBMITS_IN_FLIGHT_MAX = 16;
/** How long the LMTP door, when the host stops, lets a connection finish its transaction before it cuts it off with 421, ms. */
export const LMTP_CLOSE_GRACE_MS = 5_000;

// ---- The runner's walls (issue 12, host/confine/): caps the kernel enforces on a runner process ----
/** What the OS allows one runner process; each cap is enforced by the kernel, not by our code. */
export interface RunnerWallLimits {
  /**
   * RLIMIT_AS, bytes: address space, reservations included, not resident memory. Measured on Node
   * 20 (x64): a runner at "ready" maps ~12 GiB (V8's code range and heap reservations, which V8
   * shrinks under a lower cap, but no further than 1 GiB), and every WebAssembly.Memory reserves
   * ~10 GiB more (8 GiB plus guard pages: V8 bounds-checks WASM by trapping, and Node 20 has no
   * switch to turn that off). A QuickJS slot is such a memory, and a slot rebuilt (after an
   * out-of-memory, a trap, another memory cap) gets a new one before the old is collected, so the
   * cap admits the runner and two memories: 32 GiB (at 16 GiB no event ran; at 24 GiB, 100 new
   * memories in a row still worked, V8 collecting the old one to retry, at ~10 ms each). Resident memory is capped by QuickJS's memory maximum, V8's heap limit and,
   * where delegated, the runner cgroup's memory.max.
   */
  addressSpaceBytes: number;
  /** RLIMIT_NOFILE: open descriptors (a runner at "ready" holds ~20: epoll, eventfds, IPC, wasm files). */
  openFiles: number;
  /**
   * RLIMIT_NPROC: tasks (threads count) of the runner's uid, counted inside its user namespace when it
   * has one, else across every process of that uid (so, as root, each runner start gets a uid of
   * its own: RUNNER_UIDS). A runner at "ready" has 12 threads (main, four V8 platform workers, the
   * sandbox Worker and its helpers), may add libuv's four pool threads and briefly a second Worker
   * while one is replaced; a Node child needs ~7 more. Forks past the cap fail with EAGAIN.
   */
  tasks: number;
  /** RLIMIT_FSIZE, bytes: the largest file a runner may write (it needs none; its scratch dir is for Node). */
  fileSizeBytes: number;
  /** Size of the tmpfs that is the runner's root, bytes: it holds only mount points and symlinks. */
  rootTmpfsBytes: number;
}

/** Caps of a delegated cgroup v2 per runner, written to memory.max, pids.max and cpu.max. */
export interface RunnerCgroupLimits {
  /** memory.max, bytes: resident memory of the runner (V8 heaps + the QuickJS WASM memories). */
  memoryMaxBytes: number;
  /** pids.max: tasks in the cgroup (threads count), the same budget as RunnerWallLimits.tasks. */
  pidsMax: number;
  /** cpu.max quota per period, µs: 100 000 of 100 000 is one CPU. */
  cpuQuotaUs: number;
  /** cpu.max period, µs. */
  cpuPeriodUs: number;
}

export const DEFAULT_RUNNER_WALL_LIMITS: RunnerWallLimits = Object.freeze({
  addressSpaceBytes: 32 * GiB,
  openFiles: 64,
  tasks: 24,
  fileSizeBytes: 16 * MiB,
  rootTmpfsBytes: 1 * MiB,
});

export const DEFAULT_RUNNER_CGROUP_LIMITS: RunnerCgroupLimits = Object.freeze({
  memoryMaxBytes: 512 * MiB,
  pidsMax: 24,
  cpuQuotaUs: 100_000,
  cpuPeriodUs: 100_000,
});

/**
 * The uids (and gids: the same numbers) runners run as when the host is root: one drawn at random
 * from the range per runner start (runnerUid). None is in /etc/passwd or /etc/group, so no file and
 * no other process on the machine belongs to them, and RLIMIT_NPROC (counted per uid) counts one
 * runner's tasks only, also while a killed runner is still exiting beside its replacement. Drawn at
 * random, not counted round from the first: every host process (a test run starts several at once)
 * would start its count at the same uid, and two runners of one uid share its task budget (a runner
 * then failed to start with EAGAIN). With 2^30 numbers, two of even 100 live runners share one with
 * odds below 1 in 200 000. 2 000 000 000 is far above the ranges Debian and systemd hand out (system
 * < 1000, users < 60 000, DynamicUser 61184–65519), and the top, 3 073 741 823, is below 2^32 - 1.
 */
export const RUNNER_UIDS = Object.freeze({ first: 2_000_000_000, count: 2 ** 30 });

/**
 * Bundles a runner keeps between events (host/executor/bundle-cache.ts), so an event of a bot whose
 * code the runner already holds crosses the channel without it: an echo bot's ~18 KB bundle (36 KB of
 * v8 serialization as a two-byte string) was the largest part of each event's frame. At most this
 * many bundles and this many characters of code in all (a character is at most 2 bytes of heap), far
 * under the runner's RUNNER_OLD_SPACE_MB; a bundle over the characters cap is always sent whole.
 */
export const RUNNER_BUNDLE_CACHE = Object.freeze({ maxEntries: 16, maxChars: 4 * MiB });

/**
 * Bots' states a runner's sandbox worker keeps between events (host/executor/state-cache.ts), so
 * an event of a bot whose state the runner holds crosses the channel without it: at most this many
 * bots and this many characters of keys and values in all (a character is at most 2 bytes of the
 * worker's heap: ≤ 16 MiB); a state over the characters cap is always sent whole.
 */
export const RUNNER_STATE_CACHE = Object.freeze({ maxBots: 64, maxChars: 8 * MiB });

/**
 * A bot's state log (host/service/bot-state-file.ts) is folded into a new snapshot once its lines
 * hold this many characters (besides every JSON_LOG_COMPACT_LINES lines): an event may change the
 * whole state, so lines alone would let the log grow to 500 × stateBytes.
 */
export const STATE_LOG_COMPACT_CHARS = 2 * MiB;

/** The largest message a runner may send the host while no event is in hand ("ready"), bytes. */
export const RUNNER_IDLE_MESSAGE_MAX_BYTES = 64 * KiB;

/**
 * The largest message a runner may send the host about an event with `limits` (its result, a
 * fetch request), bytes of v8 serialization: twice what the event may produce (a string that is
 * not Latin-1 takes two bytes per character there; a file travels as base64, 4/3 of its bytes),
 * plus 1 MiB for the rest. The host refuses a longer one from its header (message-frames.ts).
 */
export function runnerMessageMaxBytes(limits: EventLimits): number {
  const payload = limits.actionBytesPerEvent + limits.logBytesPerEvent + limits.stateBytes + fetchRequestBodyMaxBytes(limits) + FETCH_REQUEST_JSON_MAX_CHARS;
  return 2 * payload + MiB;
}

/**
 * Catch-up after a bot starts getting its mail (host/service/inbox-catch-up.ts): Postfix may still
 * deliver a just-installed or resumed bot's mail to its mailbox until its queue manager has read the
 * new routes table (a reload away with `host setup`'s path unit, up to ipc_ttl without it). The
 * host looks into the account's INBOX at these delays after the change, ms, and runs what arrived
 * there since.
 */
export const INBOX_CATCH_UP_DELAYS_MS: readonly number[] = [2_000, 10_000, 30_000, 120_000];
/** Messages one catch-up takes from an INBOX at most (more wait for the next look). */
export const INBOX_CATCH_UP_MAX = 50;

/**
 * A bot that keeps failing (host/service/failing-bots.ts): after this many failed runs in a row
 * (thrown errors, limits hit) its author is told, with the last error, at most once per
 * FAILING_NOTICE_GAP_MS.
 */
export const FAILING_RUNS_IN_A_ROW = 3;
export const FAILING_NOTICE_GAP_MS = 24 * 60 * 60 * 1000;

/**
 * What one account can make the host do through the deploy inbox and its notices, whatever it
 * appends: deploys handled per rolling hour (more are dropped, one log line per hour says so) and
 * notices sent to it per rolling hour (more are only logged). The relay bot host's own send rate is
 * the relay's per-account limit: one account must not use it up for the others.
 */
export const DEPLOYS_PER_ACCOUNT_PER_HOUR = 30;
export const NOTICES_PER_ACCOUNT_PER_HOUR = 10;
