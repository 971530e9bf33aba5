import { describe, expect, it } from "vitest";
import { logLine, type HostEvent } from "../../../host/service/host-event.js";

describe("host events", () => {
  it("host event: bot.refused is written exactly as before — its typed refusal stays on the event, off the line", () => {
    const event: HostEvent = {
      event: "bot.refused",
      bot: "a@chat.test",
      from: "u@x.test",
      reason: "per-user limit mailsPerHour (60/60)",
      notified: true,
      refusal: { kind: "per-user-limit", limit: "mailsPerHour" },
    };
    expect(JSON.stringify(logLine(event))).toBe(
      '{"event":"bot.refused","bot":"a@chat.test","from":"u@x.test","reason":"per-user limit mailsPerHour (60/60)","notified":true}',
    );
    expect(event.refusal).toEqual({ kind: "per-user-limit", limit: "mailsPerHour" });
  });

  it("host event: every other event is its own line, fields in the order it was made", () => {
    const event: HostEvent = { event: "spool.dead", bot: "a@chat.test", entry: "1-2-abc", code: "E_BUNDLE", attempts: 1, reason: "[E_BUNDLE] bad" };
    expect(logLine(event)).toBe(event);
    expect(JSON.stringify(logLine(event))).toBe(
      '{"event":"spool.dead","bot":"a@chat.test","entry":"1-2-abc","code":"E_BUNDLE","attempts":1,"reason":"[E_BUNDLE] bad"}',
    );
  });
});
