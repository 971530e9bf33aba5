// The stores `host serve` changes on every mail, kept in memory and written as a snapshot plus an
// append-only log (storage/json-log.ts), or written per pass (usage counters): what a restarted
// host (a fresh object on the same files) reads back must be what the old one acknowledged.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CpuBudget } from "../../../host/policy/cpu-budget.js";
import { UserUsage } from "../../../host/policy/user-limits.js";
import { JsonLog } from "../../../host/storage/json-log.js";
import { DEFAULT_PER_USER_LIMITS } from "../../../core/limits.js";
import { PeerStore } from "../../../host/wire/peer-store.js";
import { SeenStore } from "../../../host/wire/seen-store.js";
import { SentStore } from "../../../host/wire/sent-store.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";

const dir = () => mkdtempSync(join(tmpdir(), "stores-mem-"));

describe("json log", () => {
  it("json log: a line torn by a crash mid-append is skipped, the lines before it are read", async () => {
    const file = join(dir(), "x.json");
    const log = new JsonLog<number[], number>(file, { compactEvery: 10 });
    await log.snapshot([1]);
    await log.append(2);
    appendFileSync(`${file}.log`, "[3, tor");
    expect(await new JsonLog<number[], number>(file).read()).toEqual({ snapshot: [1], lines: [2] });
  });

  it("json log: after compactEvery lines the owner is told to snapshot; the snapshot empties the log", async () => {
    const file = join(dir(), "x.json");
    const log = new JsonLog<number[], number>(file, { compactEvery: 2 });
    expect(log.wantsSnapshot(false)).toBe(true);
    await log.snapshot([]);
    await log.append(1);
    expect(log.wantsSnapshot(true)).toBe(false);
    await log.append(2);
    expect(log.wantsSnapshot(true)).toBe(true);
    await log.snapshot([1, 2]);
    expect(readFileSync(`${file}.log`, "utf8")).toBe("");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}.log`).mode & 0o777).toBe(0o600);
  });
});

describe("seen store", () => {
  it("seen store: a restarted host knows every id the old one recorded, across snapshots and log lines", async () => {
    const file = join(dir(), "seen.json");
    const first = new SeenStore(file, { now: () => 7 });
    for (let i = 0; i < 1200; i++) await first.add("Alice@x.org", `<m${i}@x>`);
    await first.add("alice@x.org", "<m5@x>"); // already there: nothing written
    const second = new SeenStore(file, { now: () => 8 });
    expect(await second.has("alice@x.org", "<m0@x>")).toBe(true);
    expect(await second.has("alice@x.org", "<m1199@x>")).toBe(true);
    expect(await second.has("bob@x.org", "<m1@x>")).toBe(false);
    expect(existsSync(`${file}.log`)).toBe(true);
  });

  it("seen store: reads the seen.json an older host wrote (a plain array of [key, ms] pairs)", async () => {
    const file = join(dir(), "seen.json");
    appendFileSync(file, JSON.stringify([["alice@x.org <old@x>", 1]]));
    expect(await new SeenStore(file, { now: () => 2 }).has("alice@x.org", "<old@x>")).toBe(true);
  });
});

describe("sent store", () => {
  it("sent store: a restarted host finds the mails the old one recorded (snapshot + log), and still forgets beyond the bounds", async () => {
    const d = dir();
    const bounds = { maxMessages: 3, maxAgeMs: 1000, maxBytes: 1000 };
    const mail = (n: number) => ({ messageId: `<m${n}@x>`, chatId: "alice@x.org", from: "bot@x.org", recipients: ["alice@x.org"], raw: `raw ${n}` });
    const first = new SentStore(d, { now: () => 5 }, bounds);
    for (const n of [1, 2, 3, 4]) await first.record(mail(n));
    const second = new SentStore(d, { now: () => 6 }, bounds);
    expect(await second.get("<m1@x>")).toBeUndefined();
    expect((await second.get("<m4@x>"))?.raw).toBe("raw 4");
    expect((await second.get("<m2@x>"))?.entry.sentAt).toBe(5);
  });
});

describe("peer store", () => {
  it("peer store: the same key seen again within a day is not rewritten; a new key is, at once", async () => {
    const file = join(dir(), "peers.json");
    let now = 1000;
    const peers = new PeerStore(file, { now: () => now });
    await peers.remember("a@x.org", "A".repeat(40), "k1");
    const written = statSync(file).mtimeMs;
    now += 60_000;
    expect((await peers.remember("a@x.org", "A".repeat(40), "k1")).updatedAt).toBe(1000);
    expect(statSync(file).mtimeMs).toBe(written);
    await peers.remember("a@x.org", "B".repeat(40), "k2");
    expect((await new PeerStore(file, { now: () => now }).get("a@x.org"))?.fingerprint).toBe("B".repeat(40));
  });
});

describe("usage counters written per pass", () => {
  it("deferred writes: nothing reaches the file before flush(); after it, a fresh object counts the same", async () => {
    const d = dir();
    const clock = new FakeClock(T0);
    const usage = new UserUsage(join(d, "usage.json"), clock, undefined, { deferWrites: true });
    const cpu = new CpuBudget(join(d, "cpu.json"), clock, { botCpuMsPerHour: 100, botCpuMsPerDay: 1000 }, { deferWrites: true });
    const limits = { ...DEFAULT_PER_USER_LIMITS, mailsPerHour: 2 };
    await usage.record("alice@x.org", { mails: 2, bytes: 1, cpuMs: 1 });
    await cpu.record(150);
    expect(existsSync(join(d, "usage.json"))).toBe(false);
    expect(existsSync(join(d, "cpu.json"))).toBe(false);
    // The object itself counts at once.
    expect((await usage.check("alice@x.org", limits)).allowed).toBe(false);
    expect((await cpu.check()).allowed).toBe(false);
    await Promise.all([usage.flush(), cpu.flush()]);
    expect((await new UserUsage(join(d, "usage.json"), clock).check("alice@x.org", limits)).allowed).toBe(false);
    expect((await new CpuBudget(join(d, "cpu.json"), clock, { botCpuMsPerHour: 100, botCpuMsPerDay: 1000 }).check()).allowed).toBe(false);
  });
});
