// The bot registry (host/service/bot-registry.ts) alone, on a host installed like an operator does:
// a bot is loaded once and reloaded when its bot.json changes, the replaced policy's held-back
// counters reach disk first, and each bot keeps one state-IO window.
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { recordEvent } from "../../../host/service/bot-policy.js";
import { BotRegistry } from "../../../host/service/bot-registry.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { hostPaths } from "../../../host/service/paths.js";
import { FakeClock, botSettings, editBotSettings, initHost, installBot } from "../../support/host-fixture.js";

const ADDR = "bot@chat.test";
const OTHER = "other-bot@chat.test";
const THIRD = "third-bot@chat.test";
let data: string;

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), "bot-registry-"));
  data = await initHost(work);
  for (const addr of [ADDR, OTHER, THIRD]) await installBot(work, data, { addr });
});

async function openRegistry(
  stateIoLimits?: { stateWriteBytesPerSecond: number; stateWriteOpsPerSecond: number },
  loadedBots?: { maxBots: number; maxBundleChars: number; idleMs: number },
) {
  const clock = new FakeClock((await botSettings(data, ADDR)).installedAt);
  const logs: HostEvent[] = [];
  const evicted: string[] = [];
  const config = await loadHostConfig(hostPaths(data).config, data);
  return {
    clock,
    logs,
    evicted,
    registry: new BotRegistry({
      dataDir: data,
      config,
      clock,
      log: (event) => logs.push(event),
      ...(stateIoLimits ? { stateIoLimits } : {}),
      ...(loadedBots ? { loadedBots } : {}),
      onEvicted: (addr) => evicted.push(addr),
    }),
  };
}

const usageOf = (addr: string) => readFileSync(join(hostPaths(data).bot(addr).dir, "usage.json"), "utf8");

/** Give bot.json a new mtime (a second later), as an install or enable does. */
function touchConfig(): void {
  const file = hostPaths(data).bot(ADDR).config;
  const later = new Date(Date.now() + 1_000);
  utimesSync(file, later, later);
}

describe("bot registry", () => {
  it("lists the bots' folders and loads only installed bots", async () => {
    const { registry } = await openRegistry();
    expect((await registry.addrs()).sort()).toEqual([ADDR, OTHER, THIRD].sort());
    expect(await registry.bot("nobody@chat.test")).toBeUndefined();
    expect((await registry.bot(ADDR))?.bot.account.addr).toBe(ADDR);
  });

  it("keeps a loaded bot while bot.json is unchanged and reloads it when it changed, after writing the old policy's counters", async () => {
    const { registry } = await openRegistry();
    const first = (await registry.bot(ADDR))!;
    expect(await registry.bot(ADDR)).toBe(first);
    // Deferred writes: counted in memory only, until a flush.
    await recordEvent(first.policy, "alice@chat.test", 100, 7);
    const usage = join(hostPaths(data).bot(ADDR).dir, "usage.json");
    const before = existsSync(usage) ? readFileSync(usage, "utf8") : "";
    expect(before).not.toContain("alice@chat.test");
    await editBotSettings(data, ADDR, { enabled: false });
    touchConfig();
    const second = (await registry.bot(ADDR))!;
    expect(second).not.toBe(first);
    expect(second.bot.settings.enabled).toBe(false);
    expect(readFileSync(usage, "utf8")).toContain("alice@chat.test");
    await editBotSettings(data, ADDR, { enabled: true });
    touchConfig();
  });

  it("reloads the bot when its password file changed (a deploy with the account's new password), with the new password", async () => {
    const { registry } = await openRegistry();
    const file = hostPaths(data).bot(ADDR).password;
    const old = readFileSync(file, "utf8");
    const first = (await registry.bot(ADDR))!;
    try {
      writeFileSync(file, "the-accounts-new-password");
      const later = new Date(Date.now() + 2_000);
      utimesSync(file, later, later);
      const second = (await registry.bot(ADDR))!;
      expect(second).not.toBe(first);
      expect(second.bot.password).toBe("the-accounts-new-password");
      expect(await registry.bot(ADDR)).toBe(second);
    } finally {
      writeFileSync(file, old);
    }
  });

  it("flushPolicies writes every loaded bot's held-back counters", async () => {
    const { registry, logs } = await openRegistry();
    const loaded = (await registry.bot(ADDR))!;
    await recordEvent(loaded.policy, "bob@chat.test", 100, 3);
    await registry.flushPolicies();
    expect(readFileSync(join(hostPaths(data).bot(ADDR).dir, "usage.json"), "utf8")).toContain("bob@chat.test");
    expect(logs).toEqual([]);
  });

  it("keeps one state-IO window per bot under the configured limits", async () => {
    const { registry, clock } = await openRegistry({ stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 });
    const io = registry.stateIo(ADDR);
    expect(registry.stateIo(ADDR)).toBe(io);
    expect(io.check()).toEqual({ allowed: true });
    io.record(10);
    expect(registry.stateIo(ADDR).check()).toMatchObject({ allowed: false, limit: "stateWriteOpsPerSecond", resumesAt: clock.now() + 1_000 });
    expect(registry.stateIo("other@chat.test").check()).toEqual({ allowed: true });
    clock.advance(1_000);
    expect(io.check()).toEqual({ allowed: true });
  });

  it("bounded: over maxBots the least recently used bot without a lease is evicted (its counters written first, its submitter dropped), a leased one never; a bot loaded again reads what its evicted load counted", async () => {
    const { registry, logs, evicted } = await openRegistry(undefined, { maxBots: 1, maxBundleChars: 1e9, idleMs: 3_600_000 });
    const a = (await registry.lease(ADDR))!;
    await recordEvent(a.policy, "carol@chat.test", 10, 1);
    // Over the cap while A is held: B is loaded beside it, nothing is evicted.
    const b = (await registry.lease(OTHER))!;
    expect(registry.loaded()).toMatchObject({ bots: 2, evicted: 0 });
    expect(logs).toEqual([]);
    // A's entry ends: A is the least recently used and over the cap.
    a.release();
    a.release(); // idempotent
    expect(registry.loaded()).toMatchObject({ bots: 1, evicted: 1 });
    expect(logs).toEqual([{ event: "bots.evicted", count: 1, loaded: 1, why: "cap" }]);
    // Leased again at once: the load waits for the evicted policy's write, so it counts carol's mail.
    const again = (await registry.lease(ADDR))!;
    expect(again.bot).not.toBe(a.bot);
    expect(usageOf(ADDR)).toContain("carol@chat.test");
    expect(evicted).toEqual([ADDR]);
    // The new load's per-user limit sees carol's one mail: a second is over a limit of 1 an hour.
    expect(await again.policy.usage.check("carol@chat.test", { ...again.bot.perUser, mailsPerHour: 1 })).toMatchObject({
      allowed: false,
      limit: "mailsPerHour",
    });
    b.release();
    again.release();
    // B was used before A's new load: B goes.
    expect(registry.loaded()).toMatchObject({ bots: 1, evicted: 2 });
    expect(await registry.bot(ADDR)).toMatchObject({ bot: again.bot });
  });

  it("bounded by bundle size too: the loaded bots' bundles stay under maxBundleChars", async () => {
    const { registry } = await openRegistry(undefined, { maxBots: 100, maxBundleChars: 1, idleMs: 3_600_000 });
    for (const addr of [ADDR, OTHER, THIRD]) (await registry.lease(addr))!.release();
    // Any one bundle is over 1 character: each release evicts the released bot.
    expect(registry.loaded()).toEqual({ bots: 0, bundleChars: 0, evicted: 3 });
  });

  it("evicts bots idle for idleMs at flushPolicies (not a held one, not one used since), and forgets state-IO windows with nothing left in them", async () => {
    const { registry, clock, logs } = await openRegistry(
      { stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 },
      { maxBots: 100, maxBundleChars: 1e9, idleMs: 60_000 },
    );
    (await registry.lease(ADDR))!.release();
    const held = (await registry.lease(OTHER))!;
    registry.stateIo(ADDR).record(10);
    clock.advance(30_000);
    (await registry.lease(THIRD))!.release();
    clock.advance(30_000);
    await registry.flushPolicies();
    // ADDR idle for 60 s; OTHER held; THIRD used 30 s ago.
    expect(logs).toEqual([{ event: "bots.evicted", count: 1, loaded: 2, why: "idle" }]);
    const io = registry.stateIo(ADDR);
    expect(io.idle()).toBe(true);
    held.release();
    clock.advance(60_000);
    await registry.flushPolicies();
    expect(registry.loaded()).toMatchObject({ bots: 0, evicted: 3 });
  });
});
