// The bot-to-bot bound's window and its file (policy/loop-guard.ts); the whole path with real mails
// is test/host/wire/inbound-automated.test.ts, and two real bots on a real relay are in
// test/e2e/bot-loops.test.ts.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BOT_EXCHANGE_EVENTS_PER_HOUR, BOT_EXCHANGE_MAX_SENDERS } from "../../../core/limits.js";
import { EXCHANGE_WINDOW_MS, LoopGuard, admitExchange } from "../../../host/policy/loop-guard.js";
import { FakeClock, MINUTE, T0 } from "../../support/fake-clock.js";

const file = () => join(mkdtempSync(join(tmpdir(), "loop-guard-")), "exchanges.json");

describe("admitExchange (pure)", () => {
  it("at the bound the event is admitted; one over is refused, with notify once, and resumes when the oldest leaves the window", () => {
    let record: ReturnType<typeof admitExchange>["record"] | undefined;
    for (let i = 0; i < 3; i++) {
      const step = admitExchange(record, T0 + i * MINUTE, 3);
      expect(step.verdict.allowed).toBe(true);
      record = step.record;
    }
    const first = admitExchange(record, T0 + 5 * MINUTE, 3);
    expect(first.verdict).toEqual({ allowed: false, notify: true, resumesAt: T0 + EXCHANGE_WINDOW_MS, eventsPerHour: 3 });
    const second = admitExchange(first.record, T0 + 6 * MINUTE, 3);
    expect(second.verdict).toMatchObject({ allowed: false, notify: false });
    expect(admitExchange(second.record, T0 + EXCHANGE_WINDOW_MS - 1, 3).verdict.allowed).toBe(false);
    expect(admitExchange(second.record, T0 + EXCHANGE_WINDOW_MS, 3).verdict.allowed).toBe(true);
  });

  it("a refusal after the window freed up and filled again is reported again", () => {
    let record = admitExchange(undefined, T0, 1).record;
    const refused = admitExchange(record, T0 + 1, 1);
    expect(refused.verdict).toMatchObject({ allowed: false, notify: true });
    record = admitExchange(refused.record, T0 + EXCHANGE_WINDOW_MS, 1).record;
    expect(admitExchange(record, T0 + EXCHANGE_WINDOW_MS + 1, 1).verdict).toMatchObject({ allowed: false, notify: true });
  });

  it("the default bound is BOT_EXCHANGE_EVENTS_PER_HOUR = 10", () => {
    expect(BOT_EXCHANGE_EVENTS_PER_HOUR).toBe(10);
    expect(BOT_EXCHANGE_MAX_SENDERS).toBe(1000);
  });
});

describe("LoopGuard", () => {
  it("a restarted host (a new guard on the same file) keeps counting: the bound holds across restarts", async () => {
    const f = file();
    const clock = new FakeClock(T0);
    const first = new LoopGuard(f, { now: () => clock.now() }, { eventsPerHour: 2, maxSenders: 10 });
    expect(await first.admit("Bot@x.org")).toEqual({ allowed: true });
    expect(await first.admit("bot@x.org")).toEqual({ allowed: true });
    const second = new LoopGuard(f, { now: () => clock.now() }, { eventsPerHour: 2, maxSenders: 10 });
    expect(await second.admit("bot@x.org")).toMatchObject({ allowed: false, notify: true });
    expect(await new LoopGuard(f, { now: () => clock.now() }, { eventsPerHour: 2, maxSenders: 10 }).admit("bot@x.org")).toMatchObject({
      allowed: false,
      notify: false,
    });
  });

  it("is bounded: at most maxSenders senders are kept, the longest silent forgotten first; senders silent for the window are dropped", async () => {
    const f = file();
    const clock = new FakeClock(T0);
    const guard = new LoopGuard(f, { now: () => clock.now() }, { eventsPerHour: 5, maxSenders: 3 });
    for (const sender of ["a@x", "b@x", "c@x", "d@x"]) {
      await guard.admit(sender);
      clock.advance(MINUTE);
    }
    expect(Object.keys(JSON.parse(readFileSync(f, "utf8")))).toEqual(["b@x", "c@x", "d@x"]);
    clock.advance(EXCHANGE_WINDOW_MS);
    await guard.admit("e@x");
    expect(Object.keys(JSON.parse(readFileSync(f, "utf8")))).toEqual(["e@x"]);
  });

  it("concurrent admits of one sender are counted one by one (none lost to a read-modify-write race)", async () => {
    const guard = new LoopGuard(file(), { now: () => T0 }, { eventsPerHour: 3, maxSenders: 10 });
    const verdicts = await Promise.all(Array.from({ length: 5 }, () => guard.admit("bot@x")));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
  });
});
