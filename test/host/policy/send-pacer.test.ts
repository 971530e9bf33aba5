import { describe, expect, it } from "vitest";
import { DEFAULT_SEND_PACING } from "../../../core/limits.js";
import { SendPacer, paced } from "../../../host/policy/send-pacer.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";

/** The relay's limiter (PROTOCOL §1: GCRA per sender, 60/min, burst 10): how many of these arrivals it refuses with 450. */
function relayRefusals(arrivals: number[]): number {
  const intervalMs = 1000;
  const toleranceMs = 9 * intervalMs;
  let tat = Number.NEGATIVE_INFINITY;
  let refused = 0;
  for (const t of [...arrivals].sort((a, b) => a - b)) {
    if (t < tat - toleranceMs) refused++;
    else tat = Math.max(t, tat) + intervalMs;
  }
  return refused;
}

/** Send `count` mails as fast as the pacer lets them go; their send times. */
function sendAll(pacer: SendPacer, clock: FakeClock, count: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    clock.advance(pacer.reserve());
    times.push(clock.now());
  }
  return times;
}

describe("send pacer", () => {
  it("idle once its bucket is full again (tat passed): a new pacer would then answer the same", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock, { sendsPerMinute: 60, sendBurst: 3 });
    expect(pacer.idle()).toBe(true);
    sendAll(pacer, clock, 3); // the burst, at once
    expect(pacer.idle()).toBe(false);
    clock.advance(2_999);
    expect(pacer.idle()).toBe(false);
    clock.advance(1);
    expect(pacer.idle()).toBe(true);
    expect(pacer.reserve(3)).toBe(new SendPacer(clock, { sendsPerMinute: 60, sendBurst: 3 }).reserve(3));
  });

  it("our numbers stay below the relay's 60 per minute and burst of 10", () => {
    expect(DEFAULT_SEND_PACING.sendsPerMinute).toBeLessThan(60);
    expect(DEFAULT_SEND_PACING.sendBurst).toBeLessThan(10);
  });

  it("an idle account sends its burst of 8 at once; the 9th waits 1.2 s and the 10th 2.4 s", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock);
    for (let i = 0; i < 8; i++) expect(pacer.reserve()).toBe(0);
    expect(pacer.reserve()).toBeCloseTo(1200);
    expect(pacer.reserve()).toBeCloseTo(2400);
  });

  it("with the relay's own numbers 10 go at once and the 11th waits 1 s", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock, { sendsPerMinute: 60, sendBurst: 10 });
    for (let i = 0; i < 10; i++) expect(pacer.reserve()).toBe(0);
    expect(pacer.reserve()).toBeCloseTo(1000);
  });

  it("in steady state mail leaves at 50 per minute, one every 1.2 s", () => {
    const clock = new FakeClock(T0);
    const times = sendAll(new SendPacer(clock), clock, 508);
    const gaps = times.slice(9).map((t, i) => t - times[i + 8]!);
    for (const gap of gaps) expect(gap).toBeCloseTo(1200);
    expect(times.at(-1)! - times[7]!).toBeCloseTo(500 * 1200); // 500 mails after the burst take 10 minutes
  });

  it("the relay's limiter accepts everything the pacer lets through, even a burst that arrives 2 s late", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock);
    const times = sendAll(pacer, clock, 200);
    expect(relayRefusals(times)).toBe(0);
    // The burst reaches the relay 2 s late while the paced mails after it arrive on time.
    expect(relayRefusals(times.map((t, i) => (i < 8 ? t + 2000 : t)))).toBe(0);
    // The relay's own numbers leave no room for that jitter: that is why ours are lower.
    const tightClock = new FakeClock(T0);
    const tight = sendAll(new SendPacer(tightClock, { sendsPerMinute: 60, sendBurst: 10 }), tightClock, 200);
    expect(relayRefusals(tight.map((t, i) => (i < 10 ? t + 2000 : t)))).toBeGreaterThan(0);
  });

  it("after enough idle time the whole burst is back; after a little, only part of it", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock);
    sendAll(pacer, clock, 20);
    clock.advance(8 * 1200);
    for (let i = 0; i < 8; i++) expect(pacer.reserve()).toBe(0);
    expect(pacer.reserve()).toBeGreaterThan(0);
    clock.advance(3 * 1200 + 1200); // the wait just booked, then three intervals
    for (let i = 0; i < 3; i++) expect(pacer.reserve()).toBe(0);
    expect(pacer.reserve()).toBeGreaterThan(0);
  });

  it("several mails booked together wait for the last of them to conform; more than the burst at once is refused", () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock);
    expect(pacer.reserve(8)).toBe(0);
    expect(pacer.reserve(2)).toBeCloseTo(2400);
    expect(() => pacer.reserve(9)).toThrow(RangeError);
    expect(() => pacer.reserve(0)).toThrow(RangeError);
  });

  it("paced() sleeps the booked time through the injected sleep, then sends", async () => {
    const clock = new FakeClock(T0);
    const pacer = new SendPacer(clock);
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock.advance(ms);
    };
    const sentAt: number[] = [];
    for (let i = 0; i < 10; i++) await paced(pacer, sleep, async () => sentAt.push(clock.now()));
    expect(sleeps).toHaveLength(2);
    expect(sentAt[9]! - sentAt[0]!).toBeCloseTo(2400);
  });
});
