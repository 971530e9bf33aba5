// State IO per bot (host/policy/state-io.ts) at the cap and one over, with a fake clock; and the
// host service deferring a bot's mail when its state writes are over.
import { describe, expect, it } from "vitest";
import { DEFAULT_STATE_IO_LIMITS } from "../../../core/limits.js";
import { StateIo } from "../../../host/policy/state-io.js";
import { FakeClock } from "../../support/fake-clock.js";

describe("state IO limits", () => {
  it("defaults to the seed's 1 MB/s and 100 writes/s", () => {
    expect(DEFAULT_STATE_IO_LIMITS).toEqual({ stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 100 });
  });

  it("idle once no write counts any more (a second after the last): the registry may then forget it", () => {
    const clock = new FakeClock(10_000);
    const io = new StateIo(clock);
    expect(io.idle()).toBe(true);
    io.record(5);
    clock.advance(999);
    expect(io.idle()).toBe(false);
    clock.advance(1);
    expect(io.idle()).toBe(true);
  });

  it("stateWriteOpsPerSecond: the 100th write in a second passes, the 101st waits until the first leaves the window", () => {
    const clock = new FakeClock(10_000);
    const io = new StateIo(clock);
    for (let i = 0; i < 99; i++) {
      io.record(1);
      clock.advance(1);
    }
    expect(io.check()).toEqual({ allowed: true }); // at the cap: this would be write 100
    io.record(1);
    expect(io.check()).toEqual({ allowed: false, limit: "stateWriteOpsPerSecond", resumesAt: 11_000 }); // one over
    clock.set(10_999);
    expect(io.check().allowed).toBe(false);
    clock.set(11_000);
    expect(io.check()).toEqual({ allowed: true });
  });

  it("stateWriteBytesPerSecond: exactly 1 MB written in the second passes, one byte over waits", () => {
    const clock = new FakeClock(10_000);
    const io = new StateIo(clock);
    io.record(400_000);
    clock.advance(100);
    io.record(600_000);
    expect(io.check()).toEqual({ allowed: true }); // at the cap
    io.record(1);
    expect(io.check()).toEqual({ allowed: false, limit: "stateWriteBytesPerSecond", resumesAt: 11_000 }); // one over: the first write must leave
    clock.set(11_000);
    expect(io.check()).toEqual({ allowed: true });
  });

  it("takes the later of two limits, and counts nothing for a broken size", () => {
    const clock = new FakeClock(0);
    const io = new StateIo(clock, { stateWriteBytesPerSecond: 10, stateWriteOpsPerSecond: 1 });
    io.record(11);
    expect(io.check()).toEqual({ allowed: false, limit: "stateWriteOpsPerSecond", resumesAt: 1000 });
    clock.set(1000);
    io.record(Number.NaN);
    expect(io.check()).toEqual({ allowed: false, limit: "stateWriteOpsPerSecond", resumesAt: 2000 });
  });
});
