// A runner keeps the bundles it was sent (issue 15, CPU per event): the host sends a bot's code
// with its first event on a runner and its name after that, and both ends count the same bounded
// set of bundles. What must hold: the code that runs is always the code the host asked for (a new
// bundle under an old id is sent again), the bounds are kept at and one over the cap, and a
// runner that lacks a bundle after all gets it whole instead of failing the event.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleCache } from "../../../host/executor/bundle-cache.js";
import { Executor } from "../../../host/executor/executor.js";
import { until } from "../../support/poll.js";
import { botWithMessageHandler, messageAt, messageEvent, request } from "../../support/sandbox.js";

const bundle = (id: string, chars: number) => ({ id, code: "x".repeat(chars), filename: "bot.js" });

describe("BundleCache: bounded, least recently used first", () => {
  it("holds exactly what it was given: same id with other code or another file name is not held", () => {
    const cache = new BundleCache({ maxEntries: 4, maxChars: 100 });
    cache.put(bundle("a", 10));
    expect(cache.holds(bundle("a", 10))).toBe(true);
    expect(cache.holds(bundle("a", 11))).toBe(false);
    expect(cache.holds({ ...bundle("a", 10), filename: "other.js" })).toBe(false);
    expect(cache.holds(bundle("b", 10))).toBe(false);
  });

  it("at maxEntries all are kept; one more drops the least recently used", () => {
    const cache = new BundleCache({ maxEntries: 3, maxChars: 100 });
    for (const id of ["a", "b", "c"]) cache.put(bundle(id, 1));
    expect(cache.size).toBe(3);
    // "a" used last: "b" is now the oldest.
    expect(cache.take("a")).toBeDefined();
    cache.put(bundle("d", 1));
    expect(cache.size).toBe(3);
    expect(cache.take("b")).toBeUndefined();
    for (const id of ["a", "c", "d"]) expect(cache.take(id)).toBeDefined();
  });

  it("at maxChars all are kept; one character over drops the oldest; a bundle over the cap alone is never kept", () => {
    const cache = new BundleCache({ maxEntries: 10, maxChars: 100 });
    cache.put(bundle("a", 50));
    cache.put(bundle("b", 50));
    expect(cache.size).toBe(2);
    cache.put(bundle("c", 1));
    expect(cache.take("a")).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.put(bundle("huge", 101));
    expect(cache.take("huge")).toBeUndefined();
    // Replacing a bundle under its id counts its new size, not both.
    cache.put(bundle("b", 99));
    expect(cache.take("b")?.code.length).toBe(99);
  });
});

describe("the executor sends a bundle's code once per runner", () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = new Executor();
    await executor.warmUp();
  });
  afterAll(() => executor.close());

  const echo = botWithMessageHandler(`await bot.reply("echo: " + msg.text);`);
  const shout = botWithMessageHandler(`await bot.reply(msg.text.toUpperCase());`);
  const reply = async (b: typeof echo, text: string) => messageAt(await executor.run(request(b, { event: messageEvent(text) })))?.text;

  it("three events of one bot: the code crosses once, every event runs it", async () => {
    const sent = executor.stats.bundlesSent;
    expect(await reply(echo, "one")).toBe("echo: one");
    expect(await reply(echo, "two")).toBe("echo: two");
    expect(await reply(echo, "three")).toBe("echo: three");
    expect(executor.stats.bundlesSent).toBe(sent + 1);
  });

  it("two bots in turn: each one's code crosses once and each event runs its own bot", async () => {
    const sent = executor.stats.bundlesSent;
    for (const word of ["a", "b", "c"]) {
      expect(await reply(echo, word)).toBe(`echo: ${word}`);
      expect(await reply(shout, word)).toBe(word.toUpperCase());
    }
    // echo is held since the test before.
    expect(executor.stats.bundlesSent).toBe(sent + 1);
  });

  it("new code under an id the runner holds (a redeploy that kept the id): the new code is sent and runs", async () => {
    const redeployed = { ...shout, id: echo.id };
    const sent = executor.stats.bundlesSent;
    expect(await reply(redeployed, "hi")).toBe("HI");
    expect(await reply(echo, "hi")).toBe("echo: hi");
    expect(executor.stats.bundlesSent).toBe(sent + 2);
  });

  it("a new runner holds nothing: an executor whose idle runner stopped sends the code again", async () => {
    const resting = new Executor({ idleStopMs: 300 });
    try {
      const run = async (text: string) => messageAt(await resting.run(request(echo, { event: messageEvent(text) })))?.text;
      expect(await run("before")).toBe("echo: before");
      await until(() => resting.runnerPids().length === 0, "the idle runner to stop", 5000);
      expect(await run("after")).toBe("echo: after");
      expect(await run("again")).toBe("echo: again");
      expect(resting.stats).toMatchObject({ runnersStarted: 2, bundlesSent: 2 });
    } finally {
      await resting.close();
    }
  });
});
