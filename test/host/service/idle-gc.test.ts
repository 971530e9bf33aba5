// A host gone idle collects its garbage once (service/idle-gc.ts, IDLE_GC_MS; issue 15: the
// start-up scan of 10 000 bots left 9–22 MiB of garbage in serve's heap). The collector really
// frees memory, and the drain loop runs it once per stretch of idleness that follows work: never
// on a host that did nothing, not again until there was new work.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IDLE_GC_MS, MAIL_MAX_BYTES, TICK_SCAN_MS } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { HostService } from "../../../host/service/host-service.js";
import { collectGarbage } from "../../../host/service/idle-gc.js";
import { hostPaths } from "../../../host/service/paths.js";
import { Spool } from "../../../host/spool/spool.js";
import { FakeClock, FakeSmtp, initHost } from "../../support/host-fixture.js";

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A host with no bot, a fake clock and a collector that counts its calls; closed after the test. */
async function idleHost() {
  const work = mkdtempSync(join(tmpdir(), "idle-gc-"));
  const data = await initHost(work);
  const clock = new FakeClock(1_700_000_000_000);
  const spool = new Spool(hostPaths(data).spool, clock);
  const executor = new Executor();
  let collected = 0;
  const service = new HostService({
    sleep: async () => {},
    dataDir: data,
    config: await loadHostConfig(hostPaths(data).config, data),
    spool,
    executor,
    clock,
    log: () => {},
    submitterFor: () => new FakeSmtp(),
    collectGarbage: () => (collected += 1),
  });
  cleanups.push(async () => {
    await service.stop();
    await executor.close();
  });
  return { clock, spool, executor, service, collections: () => collected };
}

/** Real time for the loop to make a few passes (it sleeps `idleMs` = 5 ms between them). */
const fewPasses = () => new Promise((resolve) => setTimeout(resolve, 150));

describe("idle garbage collection", () => {
  it("collectGarbage frees what is no longer referenced (~40 MiB of dropped objects)", () => {
    let garbage: Array<{ n: number; s: string }> | undefined = Array.from({ length: 400_000 }, (_, n) => ({ n, s: `item ${n}`.repeat(4) }));
    const held = process.memoryUsage().heapUsed;
    expect(garbage.length).toBe(400_000);
    garbage = undefined;
    collectGarbage();
    expect(garbage).toBeUndefined();
    expect(held - process.memoryUsage().heapUsed).toBeGreaterThan(20 * MiB);
  });

  it(`the drain loop collects once IDLE_GC_MS (${IDLE_GC_MS / 1000} s) after its last work, and again only after new work`, async () => {
    const { clock, spool, service, collections } = await idleHost();
    service.start(5);
    // The first pass scans for ticks (work); the clock has not moved: not idle long enough yet.
    await fewPasses();
    expect(collections()).toBe(0);
    clock.advance(IDLE_GC_MS - 1);
    await fewPasses();
    expect(collections()).toBe(0);
    clock.advance(1);
    await fewPasses();
    expect(collections()).toBe(1);
    // Idle on: no second collection.
    clock.advance(IDLE_GC_MS * 3);
    await fewPasses();
    expect(collections()).toBe(1);

    // New work (a mail for an address that is no bot: dead-lettered), then idleness: one more.
    await spool.write("nobody@chat.test", new TextEncoder().encode("Subject: x\r\n\r\nx\r\n"), MAIL_MAX_BYTES);
    service.poke();
    await fewPasses();
    expect(await spool.all()).toEqual([]);
    expect(collections()).toBe(1);
    clock.advance(IDLE_GC_MS);
    await fewPasses();
    expect(collections()).toBe(2);

    // A tick scan is work too (every TICK_SCAN_MS).
    clock.advance(TICK_SCAN_MS);
    await fewPasses();
    expect(collections()).toBe(2);
    clock.advance(IDLE_GC_MS);
    await fewPasses();
    expect(collections()).toBe(3);
  });

  it("drainOnce alone (host serve --once) never collects, whatever it did", async () => {
    const { clock, spool, service, collections } = await idleHost();
    await spool.write("nobody@chat.test", new TextEncoder().encode("Subject: x\r\n\r\nx\r\n"), MAIL_MAX_BYTES);
    expect(await service.drainOnce()).toBe(1);
    clock.advance(IDLE_GC_MS * 2);
    expect(await service.drainOnce()).toBe(0);
    expect(collections()).toBe(0);
  });
});
