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
let data: string;

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), "bot-registry-"));
  data = await initHost(work);
  await installBot(work, data, { addr: ADDR });
});

async function openRegistry(stateIoLimits?: { stateWriteBytesPerSecond: number; stateWriteOpsPerSecond: number }) {
  const clock = new FakeClock((await botSettings(data, ADDR)).installedAt);
  const logs: HostEvent[] = [];
  const config = await loadHostConfig(hostPaths(data).config, data);
  return {
    clock,
    logs,
    registry: new BotRegistry({ dataDir: data, config, clock, log: (event) => logs.push(event), ...(stateIoLimits ? { stateIoLimits } : {}) }),
  };
}

/** Give bot.json a new mtime (a second later), as an install or enable does. */
function touchConfig(): void {
  const file = hostPaths(data).bot(ADDR).config;
  const later = new Date(Date.now() + 1_000);
  utimesSync(file, later, later);
}

describe("bot registry", () => {
  it("lists the bots' folders and loads only installed bots", async () => {
    const { registry } = await openRegistry();
    expect(await registry.addrs()).toEqual([ADDR]);
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
});
