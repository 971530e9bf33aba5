import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_PER_USER_LIMITS, type PerUserLimits } from "../../../core/limits.js";
import { UserUsage } from "../../../host/policy/user-limits.js";
import { DAY, FakeClock, HOUR, MINUTE, T0 } from "../../support/fake-clock.js";

const usageFile = () => join(mkdtempSync(join(tmpdir(), "user-usage-")), "usage.json");
const limits = DEFAULT_PER_USER_LIMITS;

/** Check, and when allowed record one mail of `bytes` — as the service does per incoming mail. */
async function mail(usage: UserUsage, user: string, opts: { bytes?: number; cpuMs?: number; limits?: Readonly<PerUserLimits> } = {}) {
  const verdict = await usage.check(user, opts.limits ?? limits);
  if (verdict.allowed) await usage.record(user, { mails: 1, bytes: opts.bytes ?? 1000, cpuMs: opts.cpuMs ?? 10 });
  return verdict;
}

describe("user limits", () => {
  it("the 60th mail in an hour is allowed, the 61st is refused with mailsPerHour and a notice, the 62nd is refused silently", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    for (let i = 1; i <= 60; i++) {
      expect(await mail(usage, "a@x.org"), `mail ${i}`).toEqual({ allowed: true });
      clock.advance(30_000);
    }
    const refused = await mail(usage, "a@x.org");
    expect(refused).toMatchObject({ allowed: false, limit: "mailsPerHour", value: 60, used: 60, notify: true });
    // The first two mails (minute 0) leave the window one hour after their bucket ends; one is enough.
    expect(refused.allowed === false && refused.resetsAt).toBe(T0 + MINUTE + HOUR);
    expect(await mail(usage, "a@x.org")).toMatchObject({ allowed: false, limit: "mailsPerHour", notify: false });
  });

  it("after the window rolls on the user may write again, and a new refusal brings a new notice", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    const hourly = { ...limits, mailsPerDay: 1000 }; // only the hour limit in play
    for (let i = 0; i < 60; i++) await mail(usage, "a@x.org", { limits: hourly });
    const refused = await mail(usage, "a@x.org", { limits: hourly });
    if (refused.allowed) throw new Error("expected a refusal");
    expect(refused.resetsAt).toBe(T0 + MINUTE + HOUR); // sliding: never earlier than an hour, at most a minute later
    clock.set(refused.resetsAt - 1);
    expect(await mail(usage, "a@x.org", { limits: hourly })).toMatchObject({ allowed: false, notify: false });
    clock.set(refused.resetsAt);
    expect(await mail(usage, "a@x.org", { limits: hourly })).toEqual({ allowed: true });
    // Those 60 mails all left together; the user has a fresh hour of 60 (one used just now).
    for (let i = 0; i < 59; i++) expect((await mail(usage, "a@x.org", { limits: hourly })).allowed).toBe(true);
    expect(await mail(usage, "a@x.org", { limits: hourly })).toMatchObject({ allowed: false, limit: "mailsPerHour", notify: true });
  });

  it("the window slides: mails leave it one bucket at a time, not all at a fixed hour", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    for (let i = 0; i < 60; i++) {
      await mail(usage, "a@x.org");
      clock.advance(MINUTE); // one mail per minute: 10:00 … 10:59
    }
    const refused = await usage.check("a@x.org", limits);
    expect(refused).toMatchObject({ allowed: false, resetsAt: T0 + MINUTE + HOUR });
    clock.set(T0 + MINUTE + HOUR);
    expect((await mail(usage, "a@x.org")).allowed).toBe(true); // the 10:00 mail has left
    expect((await mail(usage, "a@x.org")).allowed).toBe(false); // the 10:01 one has not
  });

  it("the 120th mail in a day is allowed, the 121st is refused with mailsPerDay until the first ones leave the day", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    for (let i = 1; i <= 120; i++) {
      expect((await mail(usage, "a@x.org")).allowed, `mail ${i}`).toBe(true);
      clock.advance(6 * MINUTE); // 10 an hour: never near mailsPerHour
    }
    const refused = await mail(usage, "a@x.org");
    expect(refused).toMatchObject({ allowed: false, limit: "mailsPerDay", value: 120, used: 120, notify: true });
    // Day buckets are 15 minutes: the first three mails (10:00–10:12) leave at 10:15 the next day.
    if (refused.allowed) throw new Error("expected a refusal");
    expect(refused.resetsAt).toBe(T0 + 15 * MINUTE + DAY);
    clock.set(refused.resetsAt - 1);
    expect((await mail(usage, "a@x.org")).allowed).toBe(false);
    clock.set(refused.resetsAt);
    expect((await mail(usage, "a@x.org")).allowed).toBe(true);
  });

  it("bytes: exactly bytesPerHour used still lets a mail in, one byte over does not", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    await usage.record("at@x.org", { mails: 1, bytes: limits.bytesPerHour });
    expect(await usage.check("at@x.org", limits)).toEqual({ allowed: true });
    await usage.record("over@x.org", { mails: 1, bytes: limits.bytesPerHour + 1 });
    expect(await usage.check("over@x.org", limits)).toMatchObject({ allowed: false, limit: "bytesPerHour", value: limits.bytesPerHour, notify: true });
  });

  it("bytes: a mail whose known size would cross bytesPerHour is refused; one that lands on it is allowed", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    await usage.record("a@x.org", { mails: 1, bytes: 1000 });
    expect(await usage.check("a@x.org", limits, { bytes: limits.bytesPerHour - 1000 })).toEqual({ allowed: true });
    expect(await usage.check("a@x.org", limits, { bytes: limits.bytesPerHour - 999 })).toMatchObject({
      allowed: false,
      limit: "bytesPerHour",
      resetsAt: T0 + MINUTE + HOUR,
    });
  });

  it("a mail larger than bytesPerHour on its own can never pass: resetsAt is Infinity and the notice comes once", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    const big = { bytes: limits.bytesPerHour + 1 };
    expect(await usage.check("a@x.org", limits, big)).toMatchObject({
      allowed: false,
      limit: "bytesPerHour",
      resetsAt: Number.POSITIVE_INFINITY,
      notify: true,
    });
    expect(await usage.check("a@x.org", limits, big)).toMatchObject({ allowed: false, notify: false });
  });

  it("cpu: exactly cpuMsPerHour used still lets a mail in, one ms over does not", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    await usage.record("at@x.org", { mails: 1, cpuMs: limits.cpuMsPerHour });
    expect(await usage.check("at@x.org", limits)).toEqual({ allowed: true });
    await usage.record("over@x.org", { mails: 1, cpuMs: limits.cpuMsPerHour + 1 });
    expect(await usage.check("over@x.org", limits)).toMatchObject({
      allowed: false,
      limit: "cpuMsPerHour",
      value: limits.cpuMsPerHour,
      used: limits.cpuMsPerHour + 1,
    });
  });

  it("when several limits are reached, the one that frees last is reported", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    const tight = { ...limits, mailsPerHour: 5, mailsPerDay: 5 };
    for (let i = 0; i < 5; i++) await mail(usage, "a@x.org", { limits: tight });
    expect(await usage.check("a@x.org", tight)).toMatchObject({ allowed: false, limit: "mailsPerDay", resetsAt: T0 + 15 * MINUTE + DAY });
  });

  it("users are independent, and an address is the same user in any case", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    for (let i = 0; i < 60; i++) await mail(usage, "Alice@X.org");
    expect((await usage.check("alice@x.org", limits)).allowed).toBe(false);
    expect(await usage.check("bob@x.org", limits)).toEqual({ allowed: true });
  });

  it("usage and notices survive a restart: a new object on the same file remembers them", async () => {
    const file = usageFile();
    const clock = new FakeClock(T0);
    const first = new UserUsage(file, clock);
    for (let i = 0; i < 60; i++) await mail(first, "a@x.org");
    expect(await first.check("a@x.org", limits)).toMatchObject({ allowed: false, notify: true });
    const second = new UserUsage(file, clock);
    expect(await second.check("a@x.org", limits)).toMatchObject({ allowed: false, limit: "mailsPerHour", used: 60, notify: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("overlapping records on one object lose no update", async () => {
    const clock = new FakeClock(T0);
    const usage = new UserUsage(usageFile(), clock);
    await Promise.all(Array.from({ length: 60 }, () => usage.record("a@x.org", { mails: 1 })));
    expect(await usage.check("a@x.org", limits)).toMatchObject({ allowed: false, used: 60 });
  });

  it("the file stays bounded: a user idle for a day is forgotten", async () => {
    const file = usageFile();
    const clock = new FakeClock(T0);
    const usage = new UserUsage(file, clock);
    for (let i = 0; i < 60; i++) await mail(usage, "idle@x.org");
    clock.advance(DAY + 15 * MINUTE); // the last day bucket has expired
    await usage.record("new@x.org", { mails: 1 });
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).users)).toEqual(["new@x.org"]);
  });

  it("the file stays bounded: beyond the user cap the least recently active are forgotten", async () => {
    const file = usageFile();
    const clock = new FakeClock(T0);
    const usage = new UserUsage(file, clock, 3);
    for (const user of ["a", "b", "c", "d", "e"]) {
      await usage.record(`${user}@x.org`, { mails: 1 });
      clock.advance(1000);
    }
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).users).sort()).toEqual(["c@x.org", "d@x.org", "e@x.org"]);
  });

  it("one user's file entry holds at most one bucket per minute of the hour and per quarter hour of the day", async () => {
    const file = usageFile();
    const clock = new FakeClock(T0);
    const usage = new UserUsage(file, clock);
    // Every quarter hour of 25 hours busy, then every minute of 90 minutes: every bucket in use.
    for (let i = 0; i < 25 * 12; i++) {
      await usage.record("a@x.org", { mails: 1, bytes: 1, cpuMs: 1 });
      clock.advance(5 * MINUTE);
    }
    for (let i = 0; i < 90; i++) {
      await usage.record("a@x.org", { mails: 1, bytes: 1, cpuMs: 1 });
      clock.advance(MINUTE);
    }
    const entry = JSON.parse(readFileSync(file, "utf8")).users["a@x.org"];
    expect(entry.usage.mailsPerHour.length).toBeLessThanOrEqual(61);
    expect(entry.usage.bytesPerHour.length).toBeLessThanOrEqual(61);
    expect(entry.usage.cpuMsPerHour.length).toBeLessThanOrEqual(61);
    expect(entry.usage.mailsPerHour.length).toBeGreaterThanOrEqual(60);
    expect(entry.usage.mailsPerDay.length).toBeLessThanOrEqual(97);
    expect(entry.usage.mailsPerDay.length).toBeGreaterThanOrEqual(96);
  });
});
