// One RunRequest builder for every place an event starts (issue 11, part 2): the relay, `chatbot
// run`/`dev` and the test kit get the same shape from the same bot and event.
import { describe, expect, it } from "vitest";
import { runRequest, type RunnableBot } from "../../../host/executor/run-request.js";
import { DEFAULT_EVENT_LIMITS } from "../../../core/limits.js";

const BOT: RunnableBot = {
  bundle: { id: "b1", code: "export default {}", filename: "bot.js" },
  limits: DEFAULT_EVENT_LIMITS,
  origins: ["https://a.example", "https://b.example"],
};
const TICK = {
  event: { kind: "tick" as const, at: 1_700_000_000_000 },
  state: { k: '"v"' },
  nowMs: 1_700_000_000_000,
  botAddr: "bot@chat.test",
  eventKey: "tick:1",
};

describe("runRequest", () => {
  it("the relay's request: the bot's origins only, no loopback, no attachments, limits copied (never the shared object)", () => {
    const request = runRequest(BOT, TICK);
    expect(request).toEqual({
      bundle: BOT.bundle,
      event: TICK.event,
      attachments: [],
      state: TICK.state,
      limits: DEFAULT_EVENT_LIMITS,
      nowMs: TICK.nowMs,
      fetch: { allowHttpLoopback: false, allowOrigins: ["https://a.example", "https://b.example"] },
      messageIds: { botAddr: "bot@chat.test", eventKey: "tick:1" },
    });
    expect(request.limits).not.toBe(DEFAULT_EVENT_LIMITS);
  });

  it("local and test settings: extra origins joined without duplicates, frozen clock and loopback passed on", () => {
    const request = runRequest(BOT, {
      ...TICK,
      extraOrigins: ["https://b.example", "http://127.0.0.1:8080"],
      freezeClock: true,
      fetch: { allowHttpLoopback: true },
    });
    expect(request.fetch).toEqual({ allowHttpLoopback: true, allowOrigins: ["https://a.example", "https://b.example", "http://127.0.0.1:8080"] });
    expect(request.freezeClock).toBe(true);
  });

  it("a caller's fetch settings cannot replace the origin allowlist", () => {
    const sneaky = { allowHttpLoopback: false, allowOrigins: ["https://evil.example"] } as unknown as { allowHttpLoopback: false };
    expect(runRequest(BOT, { ...TICK, fetch: sneaky }).fetch.allowOrigins).toEqual(["https://a.example", "https://b.example"]);
  });
});
