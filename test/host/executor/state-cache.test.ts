// A runner's sandbox worker keeps the bots' states it was sent (issue 15, CPU per event): the host
// names a state by a token (RunRequest.stateToken) and sends it only when the runner does not hold
// that token for that bot. What must hold: an event always starts from the state the host asked
// for — never another bot's, never what an earlier event wrote into it (an event that fails, or
// one that ends ok but whose state the host did not take, leaves the kept state unchanged) — the
// bounds hold at and one over the cap, and a worker that lost its states gets the state whole.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { EventRecorder } from "../../../host/executor/event-recorder.js";
import { StateCache } from "../../../host/executor/state-cache.js";
import { StateSnapshot } from "../../../host/executor/state-snapshot.js";
import { DEFAULT_EVENT_LIMITS } from "../../../core/limits.js";
import { botWithMessageHandler, messageAt, messageEvent, request } from "../../support/sandbox.js";

describe("StateCache: one state per bot, bounded, least recently used first", () => {
  it("holds a bot's state under exactly its token; another token or another bot is not held", () => {
    const cache = new StateCache<string>({ maxBots: 4, maxChars: 100 });
    cache.put("a@x", "t1", 10, "A1");
    expect(cache.take("a@x", "t1")).toBe("A1");
    expect(cache.take("a@x", "t2")).toBeUndefined();
    expect(cache.take("b@x", "t1")).toBeUndefined();
    // A new token for the bot replaces its old state.
    cache.put("a@x", "t2", 10, "A2");
    expect(cache.take("a@x", "t1")).toBeUndefined();
    expect(cache.take("a@x", "t2")).toBe("A2");
    expect(cache.size).toBe(1);
  });

  it("at maxBots all are kept; one more drops the least recently used", () => {
    const cache = new StateCache<string>({ maxBots: 3, maxChars: 100 });
    for (const bot of ["a", "b", "c"]) cache.put(bot, "t", 1, bot);
    expect(cache.holds("a", "t")).toBe(true);
    cache.put("d", "t", 1, "d");
    expect(cache.size).toBe(3);
    expect(cache.holds("b", "t")).toBe(false);
    for (const bot of ["a", "c", "d"]) expect(cache.holds(bot, "t")).toBe(true);
  });

  it("at maxChars all are kept; one character over drops the oldest; a state over the cap alone is never kept", () => {
    const cache = new StateCache<string>({ maxBots: 10, maxChars: 100 });
    cache.put("a", "t", 50, "a");
    cache.put("b", "t", 50, "b");
    expect(cache.size).toBe(2);
    cache.put("c", "t", 1, "c");
    expect(cache.holds("a", "t")).toBe(false);
    cache.put("huge", "t", 101, "huge");
    expect(cache.holds("huge", "t")).toBe(false);
    // Replacing a bot's state counts its new size, not both: 99 + 1 is the cap, both are kept.
    cache.put("b", "t2", 99, "b2");
    expect(cache.take("b", "t2")).toBe("b2");
    expect(cache.holds("c", "t")).toBe(true);
  });
});

describe("EventRecorder: the state an event starts from is never changed", () => {
  it("writes go to the event's own copy; the snapshot keeps its entries and size", () => {
    const snapshot = StateSnapshot.of({ a: "1", b: '"two"' });
    const recorder = new EventRecorder(DEFAULT_EVENT_LIMITS, snapshot, () => 0);
    expect(recorder.changedState()).toBeNull();
    recorder.stateSet("a", "2");
    recorder.stateDelete("b");
    recorder.stateSet("c", "3");
    expect(recorder.stateGet("a")).toBe("2");
    expect(recorder.stateKeys()).toEqual(["a", "c"]);
    expect(recorder.changedState()).toEqual({ a: "2", c: "3" });
    expect(Object.fromEntries(snapshot.entries)).toEqual({ a: "1", b: '"two"' });
    expect(snapshot.bytes).toBe(StateSnapshot.of({ a: "1", b: '"two"' }).bytes);
  });

  it("deleting a key that is not there changes nothing", () => {
    const recorder = new EventRecorder(DEFAULT_EVENT_LIMITS, StateSnapshot.of({ a: "1" }), () => 0);
    recorder.stateDelete("nope");
    expect(recorder.changedState()).toBeNull();
  });
});

describe("the executor sends a bot's state once per runner and token", () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = new Executor();
    await executor.warmUp();
  });
  afterAll(() => executor.close());

  // Replies with its state's "n", then writes n + 1; "/fail" writes first, then throws.
  const counter = botWithMessageHandler(`
    const n = (await bot.state.get("n")) ?? 0;
    await bot.state.set("n", n + 1);
    if (msg.text === "/fail") throw new Error("failed after writing");
    await bot.reply("n=" + n + " keys=" + (await bot.state.keys()).join(","));`);
  const run = (bot: string, token: string | undefined, state: Record<string, string>, text = "hi") =>
    executor.run(
      request(counter, {
        state,
        ...(token !== undefined ? { stateToken: token } : {}),
        event: messageEvent(text),
        messageIds: { botAddr: bot, eventKey: `<${text}@x>` },
      }),
    );

  it("a held state is not sent again, and every event starts from it, not from what the one before wrote", async () => {
    const sent = executor.stats.statesSent;
    const first = await run("a@x", "a.0", { n: "5" });
    expect(messageAt(first)?.text).toBe("n=5 keys=n");
    expect(first.state).toEqual({ n: "6" });
    expect(executor.stats.statesSent).toBe(sent + 1);
    // The host did not take the new state (same token): the event starts from n=5 again, without it being sent.
    const second = await run("a@x", "a.0", {});
    expect(messageAt(second)?.text).toBe("n=5 keys=n");
    expect(executor.stats.statesSent).toBe(sent + 1);
    // An event that wrote and then failed leaves the held state as it was.
    const failed = await run("a@x", "a.0", {}, "/fail");
    expect(failed.status).toBe("bot-error");
    expect(messageAt(await run("a@x", "a.0", {}))?.text).toBe("n=5 keys=n");
    // A new token: the state is sent again and replaces the held one.
    expect(messageAt(await run("a@x", "a.1", { n: "6", x: "0" }))?.text).toBe("n=6 keys=n,x");
    expect(executor.stats.statesSent).toBe(sent + 2);
    expect(messageAt(await run("a@x", "a.1", {}))?.text).toBe("n=6 keys=n,x");
  });

  it("another bot never gets a state held for this one, even under the same token", async () => {
    await run("one@x", "same", { n: "1" });
    const other = await run("two@x", "same", { n: "7" });
    expect(messageAt(other)?.text).toBe("n=7 keys=n");
    expect(messageAt(await run("one@x", "same", {}))?.text).toBe("n=1 keys=n");
  });

  it("without a token the state goes with every event and nothing is held for it", async () => {
    const sent = executor.stats.statesSent;
    expect(messageAt(await run("c@x", undefined, { n: "3" }))?.text).toBe("n=3 keys=n");
    expect(messageAt(await run("c@x", undefined, {}))?.text).toBe("n=0 keys=n");
    expect(executor.stats.statesSent).toBe(sent);
  });

  it("a worker that was replaced (a guest stopped after catching its interruption) asks for the state and gets it whole", async () => {
    await run("d@x", "d.0", { n: "40" });
    const sent = executor.stats.statesSent;
    // Its top level never returns: each interruption ends one async call, and the loop starts another.
    const spinner = { ...counter, code: `for (;;) { (async () => { for (;;) {} })().catch(() => {}); }` };
    const stopped = await executor.run(request(spinner, { limits: { cpuMsPerEvent: 100 }, messageIds: { botAddr: "spin@x", eventKey: "<s@x>" } }));
    expect(stopped.status).toBe("cpu-limit");
    expect(executor.stats.guestsStopped).toBeGreaterThan(0);
    // The host still counts "d.0" as held and leaves it out; the new worker does not hold it, says
    // so, and the host sends the event again with it.
    const after = await run("d@x", "d.0", { n: "40" });
    expect(messageAt(after)?.text).toBe("n=40 keys=n");
    expect(executor.stats.statesSent).toBe(sent + 1);
    expect(executor.stats.statesMissing).toBe(1);
  });
});
