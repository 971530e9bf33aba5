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
    await bot.reply("n=" + n);`);
  // Replies with its state's keys and "n"; writes nothing.
  const reader = botWithMessageHandler(`await bot.reply("n=" + ((await bot.state.get("n")) ?? "none") + " keys=" + (await bot.state.keys()).join(","));`);
  const run = (bundle: typeof counter, bot: string, token: string | undefined, state: Record<string, string>, text = "hi") =>
    executor.run(
      request(bundle, {
        state,
        ...(token !== undefined ? { stateToken: token } : {}),
        event: messageEvent(text),
        messageIds: { botAddr: bot, eventKey: `<${text}@x>` },
      }),
    );

  it("a held state is not sent again; the state after an ok event that changed it is held under result.stateToken", async () => {
    const sent = executor.stats.statesSent;
    const first = await run(counter, "a@x", "a.0", { n: "5" });
    expect(messageAt(first)?.text).toBe("n=5");
    expect(first.state).toEqual({ n: "6" });
    expect(first.stateToken).toBeDefined();
    expect(executor.stats.statesSent).toBe(sent + 1);
    // The next event names the state after: not sent (the request's state here is a stand-in), read from what the worker kept.
    const second = await run(counter, "a@x", first.stateToken, {});
    expect(messageAt(second)?.text).toBe("n=6");
    expect(second.state).toEqual({ n: "7" });
    expect(executor.stats.statesSent).toBe(sent + 1);
    // An event that wrote and then failed names no state after, and leaves the held one as it was.
    const failed = await run(counter, "a@x", second.stateToken, {}, "/fail");
    expect(failed.status).toBe("bot-error");
    expect(failed.stateToken).toBeUndefined();
    expect(messageAt(await run(counter, "a@x", second.stateToken, {}))?.text).toBe("n=7");
    expect(executor.stats.statesSent).toBe(sent + 1);
    // One state per bot: the first token is no longer held, so its state is sent again.
    expect(messageAt(await run(counter, "a@x", "a.0", { n: "5" }))?.text).toBe("n=5");
    expect(executor.stats.statesSent).toBe(sent + 2);
  });

  it("an event that does not change the state leaves it held under the same token", async () => {
    const sent = executor.stats.statesSent;
    const first = await run(reader, "r@x", "r.0", { n: "9" });
    expect(first.stateToken).toBeUndefined();
    expect(messageAt(await run(reader, "r@x", "r.0", {}))?.text).toBe("n=9 keys=n");
    expect(executor.stats.statesSent).toBe(sent + 1);
  });

  it("another bot never gets a state held for this one, even under the same token", async () => {
    await run(reader, "one@x", "same", { n: "1" });
    const other = await run(reader, "two@x", "same", { n: "7" });
    expect(messageAt(other)?.text).toBe("n=7 keys=n");
    expect(messageAt(await run(reader, "one@x", "same", {}))?.text).toBe("n=1 keys=n");
  });

  it("without a token the state goes with every event and nothing is held for it", async () => {
    const sent = executor.stats.statesSent;
    expect(messageAt(await run(reader, "c@x", undefined, { n: "3" }))?.text).toBe("n=3 keys=n");
    expect(messageAt(await run(reader, "c@x", undefined, {}))?.text).toBe("n=none keys=");
    const changed = await run(counter, "c@x", undefined, { n: "3" });
    expect(changed.state).toEqual({ n: "4" });
    expect(changed.stateToken).toBeUndefined();
    expect(executor.stats.statesSent).toBe(sent);
  });

  it("the state after holds the same keys in the same order, and '__proto__' as an ordinary key, whether held or sent whole", async () => {
    const shuffler = botWithMessageHandler(`
      if (msg.text === "write") {
        await bot.state.delete("z");
        await bot.state.set("b", 1);
        await bot.state.set("10", 2);
        await bot.state.set("z", 3);
        await bot.state.set("__proto__", 4);
        await bot.state.delete("a");
        await bot.state.set("a", 5);
      }
      await bot.reply((await bot.state.keys()).join(",") + "|" + JSON.stringify(await bot.state.get("__proto__")));`);
    const written = await run(shuffler, "s@x", "s.0", { a: "0", z: "0", "2": "0" }, "write");
    expect(written.status, written.error?.message).toBe("ok");
    const held = messageAt(await run(shuffler, "s@x", written.stateToken, {}, "read"))?.text;
    const sentWhole = messageAt(await run(shuffler, "s@x", "s.fresh", written.state!, "read"))?.text;
    expect(held).toBe(sentWhole);
    expect(sentWhole).toBe("2,10,b,z,__proto__,a|4");
    expect(Object.keys(written.state!)).toEqual(["2", "10", "b", "z", "__proto__", "a"]);
  });

  it("a worker that was replaced (a guest stopped after catching its interruption) asks for the state and gets it whole", async () => {
    await run(reader, "d@x", "d.0", { n: "40" });
    const sent = executor.stats.statesSent;
    const missing = executor.stats.statesMissing;
    // Its top level never returns: each interruption ends one async call, and the loop starts another.
    const spinner = { ...reader, code: `for (;;) { (async () => { for (;;) {} })().catch(() => {}); }` };
    const stopped = await executor.run(request(spinner, { limits: { cpuMsPerEvent: 100 }, messageIds: { botAddr: "spin@x", eventKey: "<s@x>" } }));
    expect(stopped.status).toBe("cpu-limit");
    expect(executor.stats.guestsStopped).toBeGreaterThan(0);
    // The host still counts "d.0" as held and leaves it out; the new worker does not hold it, says
    // so, and the host sends the event again with it.
    const after = await run(reader, "d@x", "d.0", { n: "40" });
    expect(messageAt(after)?.text).toBe("n=40 keys=n");
    expect(executor.stats.statesSent).toBe(sent + 1);
    expect(executor.stats.statesMissing).toBe(missing + 1);
  });
});
