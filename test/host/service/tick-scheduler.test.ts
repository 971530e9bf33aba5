// The tick scheduler (host/service/tick-scheduler.ts) alone: the tick secret, the tick entry's
// format, and queueing due ticks into a real spool for bots installed like an operator does.
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { nextTick, tickOffsetMs } from "../../../host/policy/schedule.js";
import { BotRegistry } from "../../../host/service/bot-registry.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { hostPaths } from "../../../host/service/paths.js";
import { TICK_MARKER, TickScheduler, loadTickSecret, tickEntry, tickTime } from "../../../host/service/tick-scheduler.js";
import { Spool } from "../../../host/spool/spool.js";
import { TICK_SCAN_MS } from "../../../core/limits.js";
import { FakeClock, botSettings, editBotSettings, initHost, installBot } from "../../support/host-fixture.js";

const HOURLY = "hourly@chat.test";
const QUIET = "quiet@chat.test";

describe("tick entries", () => {
  it("a tick entry carries the secret and the time; anything else is a mail", () => {
    const entry = tickEntry("s3cret", 1_700_000_000_000);
    expect(new TextDecoder().decode(entry)).toBe(`${TICK_MARKER}s3cret 1700000000000\r\n`);
    expect(tickTime(entry, "s3cret")).toBe(1_700_000_000_000);
    expect(tickTime(entry, "other")).toBeUndefined();
    expect(tickTime(new TextEncoder().encode(`${TICK_MARKER}s3cret soon\r\n`), "s3cret")).toBeUndefined();
    expect(tickTime(new TextEncoder().encode("From: a@chat.test\r\n\r\nhi"), "s3cret")).toBeUndefined();
  });

  it("the tick secret is created once, private, and read back the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tick-secret-"));
    const secret = await loadTickSecret(dir);
    expect(secret).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(join(dir, "tick.key")).mode & 0o777).toBe(0o600);
    expect(await loadTickSecret(dir)).toBe(secret);
  });
});

describe("tick scheduler", () => {
  let data: string;
  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), "tick-scheduler-"));
    data = await initHost(work);
    await installBot(work, data, { addr: HOURLY, manifest: { schedule: "hourly" } });
    await installBot(work, data, { addr: QUIET });
  });

  async function scheduler() {
    const installedAt = (await botSettings(data, HOURLY)).installedAt;
    const clock = new FakeClock(installedAt);
    const logs: HostEvent[] = [];
    const log = (event: HostEvent) => logs.push(event);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const spool = new Spool(hostPaths(data).spool, clock);
    const registry = new BotRegistry({ dataDir: data, config, clock, log });
    const ticks = new TickScheduler({ dataDir: data, spool, registry, clock, log });
    // The first slot after the install (a new bot waits for it).
    const slot = nextTick("hourly", undefined, installedAt, tickOffsetMs(HOURLY, "hourly")).next;
    return { clock, logs, spool, ticks, slot };
  }

  it("queues a scheduled bot's tick once its slot has come, notes it, and not again for that slot", async () => {
    const { clock, logs, spool, ticks, slot } = await scheduler();
    expect(await ticks.queueDueTicks()).toBe(0);
    clock.set(slot);
    expect(await ticks.queueDueTicks()).toBe(1);
    expect(await ticks.queueDueTicks()).toBe(0);
    const [entry, ...rest] = await spool.all();
    expect(rest).toEqual([]);
    expect(entry!.recipient).toBe(HOURLY);
    expect(await ticks.tickTimeOf(await spool.read(entry!))).toBe(slot);
    expect(await ticks.tickSecret()).toBe(await loadTickSecret(data));
    expect(JSON.parse(readFileSync(join(hostPaths(data).bot(HOURLY).dir, "ticks.json"), "utf8"))).toEqual({ lastTickAt: slot });
    expect(logs).toEqual([{ event: "tick.queued", bot: HOURLY, at: slot }]);
    await spool.complete(entry!);
  });

  it("queues nothing for a disabled bot; enabled again, its latest slot is queued", async () => {
    const { clock, ticks, slot } = await scheduler();
    await editBotSettings(data, HOURLY, { enabled: false });
    clock.set(slot + 10 * 60 * 60 * 1000);
    expect(await ticks.queueDueTicks()).toBe(0);
    await editBotSettings(data, HOURLY, { enabled: true });
    expect(await ticks.queueDueTicks()).toBe(1);
  });

  it("the drain loop's scan (queueDueTicksThrottled) runs at most once per TICK_SCAN_MS on the clock: a tick is then at most that late", async () => {
    const { clock, ticks, slot } = await scheduler();
    // Counted from the install again: its last tick forgotten, here and in the scan's index.
    rmSync(join(hostPaths(data).bot(HOURLY).dir, "ticks.json"), { force: true });
    rmSync(join(data, "tick-index.json"), { force: true });
    clock.set(slot - 1);
    expect(await ticks.queueDueTicksThrottled()).toBe(0); // scans: nothing due yet
    clock.set(slot);
    expect(await ticks.queueDueTicksThrottled()).toBe(0); // due, but the last scan was 1 ms ago
    clock.set(slot - 1 + TICK_SCAN_MS - 1);
    expect(await ticks.queueDueTicksThrottled()).toBe(0);
    clock.set(slot - 1 + TICK_SCAN_MS);
    expect(await ticks.queueDueTicksThrottled()).toBe(1);
  });

  it("does not load the bots it looks at (no bundle, no keys): the registry is asked only for their addresses", async () => {
    const { clock, slot, spool, logs } = await scheduler();
    rmSync(join(hostPaths(data).bot(HOURLY).dir, "ticks.json"), { force: true });
    rmSync(join(data, "tick-index.json"), { force: true });
    const asked: string[] = [];
    // A registry that would load a bot if asked (as the scheduler once did for every bot, every second).
    const registry = {
      addrs: async () => [HOURLY, QUIET],
      bot: async (addr: string) => {
        asked.push(addr);
        return undefined;
      },
    };
    const ticks = new TickScheduler({ dataDir: data, spool, registry, clock, log: (event) => logs.push(event) });
    clock.set(slot + 3 * 60 * 60 * 1000);
    expect(await ticks.queueDueTicks()).toBe(1);
    expect(asked).toEqual([]);
  });

  it("keeps what a bot's files said between scans and reads them again when they change (an upgrade that adds a schedule)", async () => {
    const { clock, ticks, slot, logs } = await scheduler();
    clock.set(slot + 5 * 60 * 60 * 1000);
    await ticks.queueDueTicks();
    expect(logs.filter((l) => l.event === "tick.queued" && l.bot === QUIET)).toEqual([]);
    const manifestFile = join(hostPaths(data).bot(QUIET).current, "chatbot.json");
    const before = readFileSync(manifestFile, "utf8");
    try {
      writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(before), schedule: "hourly" }));
      const later = new Date(Date.now() + 5_000);
      utimesSync(manifestFile, later, later);
      clock.set(slot + 10 * 60 * 60 * 1000);
      await ticks.queueDueTicks();
      expect(logs.filter((l) => l.event === "tick.queued" && l.bot === QUIET)).toHaveLength(1);
    } finally {
      writeFileSync(manifestFile, before);
    }
  });

  it("a new scheduler (a restart) takes what the last one knew from tick-index.json: the same bots, no tick twice", async () => {
    const first = await scheduler();
    first.clock.set(first.slot + 20 * 60 * 60 * 1000);
    await first.ticks.queueDueTicks();
    const index = JSON.parse(readFileSync(join(data, "tick-index.json"), "utf8")) as Record<string, { schedule?: string; lastTickAt?: number }>;
    expect(index[HOURLY]).toMatchObject({ schedule: "hourly", lastTickAt: expect.any(Number) });
    expect(index[QUIET]).toMatchObject({ enabled: true });
    expect(index[QUIET]!.schedule).toBeUndefined();
    const second = await scheduler();
    second.clock.set(first.clock.now());
    expect(await second.ticks.queueDueTicks()).toBe(0);
    second.clock.set(first.clock.now() + 60 * 60 * 1000);
    expect(await second.ticks.queueDueTicks()).toBe(1);
  });

  it("nextDueAt (the pipeline's rest): after a scan, the next slot of the scheduled bot; none for a disabled one", async () => {
    const { clock, spool, ticks, slot } = await scheduler();
    const hour = 60 * 60 * 1000;
    clock.set(slot + 100 * hour + 10 * 60 * 1000);
    await ticks.queueDueTicks();
    expect(ticks.nextDueAt(clock.now())).toBe(slot + 101 * hour);
    await editBotSettings(data, HOURLY, { enabled: false });
    await ticks.queueDueTicks();
    expect(ticks.nextDueAt(clock.now())).toBe(Number.POSITIVE_INFINITY);
    await editBotSettings(data, HOURLY, { enabled: true });
    for (const entry of await spool.all()) await spool.complete(entry);
  });
});
