// createTestBot: a bot under test. It is built like `chatbot build` does, and every event goes
// through the relay's event pipeline (service/event-pipeline.ts: consent, the manifest's per-user
// limits, the real sandbox with its limits, state kept only from events that end ok), so what
// passes here passes on a relay. Only the world around it is fake: the clock, fetch (recorded
// responses, no network), and the state, consent and usage stores (in memory).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { statSync } from "node:fs";
import type { GuestEvent } from "../../std/contract.js";
import type { RunRequest } from "../executor/run-types.js";
import { acquireExecutor } from "./shared-executor.js";
import { buildLocalBot, runLocalEvent, type LocalBot } from "../local/local-bot.js";
import { openLocalPolicy } from "../service/bot-policy.js";
import { LocalOutbound } from "../local/local-outbound.js";
import { parseLocalMail } from "../local/local-mail.js";
import { nextTick } from "../policy/schedule.js";
import type { TestBot, TestBotOptions, TestEventResult } from "./api.js";
import { parseDuration } from "./duration.js";
import { createTestClock } from "./test-clock.js";
import { DEFAULT_SENDER, messageEvent, toChat, webxdcEvent } from "./test-events.js";
import { createTestFetch } from "./test-fetch.js";
import { toTestResult } from "./test-result.js";
import { createTestState } from "./test-state.js";
import { domainOf } from "../../core/address.js";

/** The bot's own address when the test names none. */
const DEFAULT_BOT_ADDR = "bot@example.org";

/** The bot folder from `dir`: a path, or a file: URL of the folder or of a file in it (`import.meta.url`). */
export function botFolder(dir: string | URL | undefined): string {
  if (dir === undefined) return process.cwd();
  const path = dir instanceof URL || dir.startsWith("file:") ? fileURLToPath(dir) : resolve(dir);
  return statSync(path, { throwIfNoEntry: false })?.isFile() ? dirname(path) : path;
}

/** Build the bot in `options.dir` (default: the current folder) and get it ready to run events. */
export async function createTestBot(options: TestBotOptions = {}): Promise<TestBot> {
  const local = await buildLocalBot(botFolder(options.dir), { reuse: true });
  const botAddr = (options.botAddr ?? DEFAULT_BOT_ADDR).toLowerCase();
  const clock = createTestClock(options.now);
  const state = createTestState(options.state ?? {});
  const fetch = createTestFetch();
  const { executor, release } = acquireExecutor();
  // Consent and per-user usage live as long as the test bot, like a relay's files for one bot.
  const policy = openLocalPolicy(local.perUser, clock);
  for (const chat of options.knownChats ?? []) {
    const { id } = toChat(chat, DEFAULT_SENDER);
    await policy.consent.noteIncoming(id, id);
  }
  // What the relay's sent and group stores would hold: delete/resend name only the bot's own messages.
  const outbound = new LocalOutbound();
  let messages = 0;

  // One event at a time, like the host's per-bot queue: an event sees the state the previous one left.
  let previous: Promise<unknown> = Promise.resolve();
  const run = (event: GuestEvent, eventKey: string, attachments: Uint8Array[] = [], bytes?: number): Promise<TestEventResult> => {
    const next = previous.then(() => runNow(event, eventKey, attachments, bytes));
    previous = next.catch(() => undefined);
    return next;
  };
  const runNow = async (event: GuestEvent, eventKey: string, attachments: Uint8Array[], bytes: number | undefined): Promise<TestEventResult> => {
    // The relay's pipeline: consent and the manifest's per-user limits on the fake clock, then the sandbox.
    // The recordings are the host's to answer from (Executor.run's fetch settings): they never reach the runner.
    const replaying = { run: (request: RunRequest) => executor.run(request, { recorded: fetch.recordings() }) };
    const outcome = await runLocalEvent(replaying, local, event, {
      state: state.snapshot(),
      policy,
      outbound,
      nowMs: clock.now(),
      eventKey,
      botAddr,
      attachments,
      ...(bytes !== undefined ? { bytes } : {}),
      freezeClock: true,
      ...(options.allowOrigins ? { extraOrigins: options.allowOrigins } : {}),
    });
    // Like the host: a failed event's state changes are thrown away (the outcome's state is null then).
    if (outcome.kind === "ran" && outcome.state !== null) state.replace(outcome.state);
    return toTestResult(outcome, { botAddr, eventKey });
  };

  const tickAt = (at: number): Promise<TestEventResult> => run({ kind: "tick", at }, `tick:${at}`);

  return {
    message(text, messageOptions = {}) {
      messages += 1;
      // Incoming Message-IDs as a client writes them: unique, in the sender's domain.
      const id = messageOptions.id ?? `<test-${messages}.${clock.now()}@${senderDomain(messageOptions.from)}>`;
      const { event, attachments } = messageEvent(text, messageOptions, id, clock.now());
      return run(event, id, attachments);
    },
    async mail(raw) {
      // The relay's parser and mapping (local/local-mail.ts); a mail without Date is dated by the fake clock.
      const bytes = typeof raw === "string" ? new Uint8Array(Buffer.from(raw, "utf8")) : raw;
      const mail = await parseLocalMail(bytes, { clock });
      // Counted by the mail's bytes against limits.perUser.bytesPerHour, as the relay counts a mail.
      return run(mail.event, mail.key, mail.attachments, bytes.byteLength);
    },
    tick: () => tickAt(clock.now()),
    async advance(by) {
      const end = clock.now() + parseDuration(by);
      const results: TestEventResult[] = [];
      // Every slot in (now, end], at exact :00 UTC (the host moves a bot's slots by a fixed
      // per-bot offset to spread load; tests use offset 0 so "the next hour" means 11:00).
      for (let slot = nextSlot(local, clock.now()); slot <= end; slot = nextSlot(local, slot)) {
        clock.set(slot);
        results.push(await tickAt(slot));
      }
      clock.set(end);
      return results;
    },
    webxdc(update) {
      messages += 1;
      const key = `<test-update-${messages}.${clock.now()}@${senderDomain(update.from)}>`;
      return run(webxdcEvent(update), key);
    },
    state: state.view,
    fetch: { on: fetch.on, clear: fetch.clear },
    clock,
    close: release,
  };
}

/** The first slot of the bot's schedule after `after` (Infinity for "none"). */
function nextSlot(local: LocalBot, after: number): number {
  return nextTick(local.manifest.schedule, after, after).next;
}

/** The domain of a test event's sender, for its Message-ID (the default sender's when none is given). */
function senderDomain(from: string | { addr: string } | undefined): string {
  const addr = from === undefined ? "alice@example.org" : typeof from === "string" ? from : from.addr;
  return domainOf(addr).toLowerCase() || "example.org";
}
