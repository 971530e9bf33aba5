import { describe, expect, it } from "vitest";
import { nextTick, tickOffsetMs } from "../../../host/policy/schedule.js";
import { DAY, HOUR, MINUTE, T0 } from "../../support/fake-clock.js";

const MIDNIGHT = Date.UTC(2025, 0, 1); // 2025-01-01 00:00 UTC

describe("schedule", () => {
  it("hourly: due at the hour boundary, not a millisecond before", () => {
    expect(nextTick("hourly", T0, T0 + HOUR - 1)).toEqual({ due: false, at: T0, next: T0 + HOUR });
    expect(nextTick("hourly", T0, T0 + HOUR)).toEqual({ due: true, at: T0 + HOUR, next: T0 + 2 * HOUR });
  });

  it("hourly: a tick recorded a little after its slot is not due again within the hour", () => {
    expect(nextTick("hourly", T0 + 1234, T0 + 30 * MINUTE).due).toBe(false);
  });

  it("after 5 hours of downtime exactly one tick is due: the latest slot", () => {
    const now = T0 + 5 * HOUR + 30 * MINUTE;
    const plan = nextTick("hourly", T0, now);
    expect(plan).toEqual({ due: true, at: T0 + 5 * HOUR, next: T0 + 6 * HOUR });
    expect(nextTick("hourly", plan.at, now).due).toBe(false); // after running it, nothing more is due
  });

  it("daily: due at 00:00 UTC, not before", () => {
    expect(nextTick("daily", MIDNIGHT, MIDNIGHT + DAY - 1)).toEqual({ due: false, at: MIDNIGHT, next: MIDNIGHT + DAY });
    expect(nextTick("daily", MIDNIGHT, MIDNIGHT + DAY)).toEqual({ due: true, at: MIDNIGHT + DAY, next: MIDNIGHT + 2 * DAY });
    expect(nextTick("daily", MIDNIGHT, MIDNIGHT + 3 * DAY + HOUR)).toMatchObject({ due: true, at: MIDNIGHT + 3 * DAY });
  });

  it('"none" is never due', () => {
    for (const last of [undefined, 0, T0 - 10 * DAY]) {
      expect(nextTick("none", last, T0).due).toBe(false);
    }
    expect(nextTick("none", undefined, T0).next).toBe(Number.POSITIVE_INFINITY);
  });

  it("a bot that never ticked is due at once, at the latest slot", () => {
    expect(nextTick("hourly", undefined, T0 + 10 * MINUTE)).toEqual({ due: true, at: T0, next: T0 + HOUR });
  });

  it("an offset moves every slot later by the same amount", () => {
    const offset = 17 * MINUTE + 23_000;
    expect(nextTick("hourly", T0 + offset, T0 + HOUR + offset - 1, offset).due).toBe(false);
    expect(nextTick("hourly", T0 + offset, T0 + HOUR + offset, offset)).toEqual({ due: true, at: T0 + HOUR + offset, next: T0 + 2 * HOUR + offset });
    // Before this hour's offset, the slot is last hour's.
    expect(nextTick("hourly", undefined, T0 + MINUTE, offset).at).toBe(T0 - HOUR + offset);
  });

  it("the per-bot offset is stable, whole seconds within the period, the same in any case, and spreads bots out", () => {
    const offset = tickOffsetMs("echo@relay.example", "hourly");
    expect(tickOffsetMs("echo@relay.example", "hourly")).toBe(offset);
    expect(tickOffsetMs("ECHO@relay.example", "hourly")).toBe(offset);
    expect(offset % 1000).toBe(0);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(HOUR);
    expect(tickOffsetMs("echo@relay.example", "daily")).toBeLessThan(DAY);
    expect(tickOffsetMs("echo@relay.example", "none")).toBe(0);
    const minutes = new Set(Array.from({ length: 100 }, (_, i) => Math.floor(tickOffsetMs(`bot${i}@relay.example`, "hourly") / MINUTE)));
    expect(minutes.size).toBeGreaterThan(40); // 100 bots over 60 minutes, not all at :00
  });
});
