import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOT_LIMITS } from "../../../core/limits.js";
import { CpuBudget } from "../../../host/policy/cpu-budget.js";
import { DAY, FakeClock, HOUR, MINUTE, T0 } from "../../support/fake-clock.js";

const cpuFile = () => join(mkdtempSync(join(tmpdir(), "cpu-budget-")), "cpu.json");

describe("cpu budget", () => {
  it("the defaults are the seed's 1% of a core per hour and 0.1% per day", () => {
    expect(DEFAULT_BOT_LIMITS.botCpuMsPerHour).toBe(0.01 * HOUR);
    expect(DEFAULT_BOT_LIMITS.botCpuMsPerDay).toBe(0.001 * DAY);
  });

  it("with exactly 36 000 ms spent in the hour the bot still runs; one ms more and it waits until the oldest spending leaves", async () => {
    const clock = new FakeClock(T0);
    const budget = new CpuBudget(cpuFile(), clock);
    await budget.record(20_000);
    clock.advance(30 * MINUTE);
    await budget.record(16_000);
    expect(await budget.check()).toEqual({ allowed: true });
    await budget.record(1);
    // The 20 000 ms of 10:00 leave the window at 11:01 (the end of their minute bucket + 1 h).
    expect(await budget.check()).toEqual({ allowed: false, limit: "botCpuMsPerHour", resumesAt: T0 + MINUTE + HOUR });
    clock.set(T0 + MINUTE + HOUR - 1);
    expect((await budget.check()).allowed).toBe(false);
    clock.set(T0 + MINUTE + HOUR);
    expect(await budget.check()).toEqual({ allowed: true });
  });

  it("with exactly 86 400 ms spent in the day the bot still runs; one ms more and it waits for the day window", async () => {
    const clock = new FakeClock(T0);
    const budget = new CpuBudget(cpuFile(), clock);
    await budget.record(36_000); // 10:00, a full hour's budget each time
    clock.advance(2 * HOUR);
    await budget.record(36_000); // 12:00
    clock.advance(2 * HOUR);
    await budget.record(14_400); // 14:00
    expect(await budget.check()).toEqual({ allowed: true });
    await budget.record(1);
    // The 10:00 spending leaves with its 15-minute bucket: 10:15 the next day.
    expect(await budget.check()).toEqual({ allowed: false, limit: "botCpuMsPerDay", resumesAt: T0 + 15 * MINUTE + DAY });
    clock.set(T0 + 15 * MINUTE + DAY);
    expect(await budget.check()).toEqual({ allowed: true });
  });

  it("a check spends nothing: a waiting bot is not pushed further back by the service asking", async () => {
    const clock = new FakeClock(T0);
    const budget = new CpuBudget(cpuFile(), clock);
    await budget.record(36_001);
    const first = await budget.check();
    for (let i = 0; i < 10; i++) expect(await budget.check()).toEqual(first);
  });

  it("the spent time survives a restart, in a file only the host user can read", async () => {
    const file = cpuFile();
    const clock = new FakeClock(T0);
    await new CpuBudget(file, clock).record(36_001);
    expect(await new CpuBudget(file, clock).check()).toMatchObject({ allowed: false, limit: "botCpuMsPerHour" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("an operator's lower budget applies at its own cap", async () => {
    const clock = new FakeClock(T0);
    const budget = new CpuBudget(cpuFile(), clock, { botCpuMsPerHour: 1000, botCpuMsPerDay: 5000 });
    await budget.record(1000);
    expect((await budget.check()).allowed).toBe(true);
    await budget.record(1);
    expect((await budget.check()).allowed).toBe(false);
  });

  it("a broken measurement (NaN or negative) is not recorded", async () => {
    const clock = new FakeClock(T0);
    const budget = new CpuBudget(cpuFile(), clock);
    await budget.record(Number.NaN);
    await budget.record(-5);
    await budget.record(36_000);
    expect(await budget.check()).toEqual({ allowed: true });
  });
});
