// A bot that keeps failing: its author is told after FAILING_RUNS_IN_A_ROW failed runs in a row,
// with the last error, at most once per FAILING_NOTICE_GAP_MS (kept across restarts).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAILING_NOTICE_GAP_MS, FAILING_RUNS_IN_A_ROW } from "../../../core/limits.js";
import { FailingBots } from "../../../host/service/failing-bots.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { hostPaths } from "../../../host/service/paths.js";

const BOT = "bot@chat.test";

function setup() {
  const dataDir = mkdtempSync(join(tmpdir(), "failing-bots-"));
  const paths = hostPaths(dataDir).bot(BOT);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.config, JSON.stringify({ name: "bot", enabled: true, approvedOrigins: [], installedAt: 0 }));
  let now = 1_000_000;
  const told: Array<{ account: string; kind: string; text: string }> = [];
  const make = () =>
    new FailingBots({
      dataDir,
      clock: { now: () => now },
      notify: async (account, kind, text) => {
        told.push({ account, kind, text });
      },
    });
  return { dataDir, told, make, advance: (ms: number) => (now += ms) };
}

const run = (status: "ok" | "bot-error" | "cpu-limit", message = "boom"): HostEvent =>
  ({
    event: "bot.event",
    bot: BOT,
    from: "a@chat.test",
    status,
    cpuMs: 1,
    wallMs: 1,
    memoryBytes: 1,
    sent: 0,
    ...(status === "ok" ? {} : { error: "E_BOT", message }),
  }) as HostEvent;

describe("failing bots", () => {
  it("tells the author after FAILING_RUNS_IN_A_ROW failed runs in a row, with the last error; a good run resets the count", async () => {
    const t = setup();
    const watch = t.make();
    for (let i = 1; i < FAILING_RUNS_IN_A_ROW; i += 1) watch.observe(run("bot-error"));
    watch.observe(run("ok"));
    for (let i = 1; i < FAILING_RUNS_IN_A_ROW; i += 1) watch.observe(run("bot-error"));
    await watch.settled();
    expect(t.told).toEqual([]);
    watch.observe(run("cpu-limit", "the last one"));
    await watch.settled();
    expect(t.told).toHaveLength(1);
    expect(t.told[0]).toMatchObject({ account: BOT, kind: "failing" });
    expect(t.told[0]!.text).toMatch(new RegExp(`last ${FAILING_RUNS_IN_A_ROW} runs failed\\. The last error: E_BOT: the last one`));
  });

  it("at most once per FAILING_NOTICE_GAP_MS, also across a restart", async () => {
    const t = setup();
    let watch = t.make();
    for (let i = 0; i < FAILING_RUNS_IN_A_ROW * 3; i += 1) watch.observe(run("bot-error"));
    await watch.settled();
    expect(t.told).toHaveLength(1);
    // A restart (a new watcher) on the same day: still quiet.
    watch = t.make();
    for (let i = 0; i < FAILING_RUNS_IN_A_ROW; i += 1) watch.observe(run("bot-error"));
    await watch.settled();
    expect(t.told).toHaveLength(1);
    t.advance(FAILING_NOTICE_GAP_MS);
    watch.observe(run("bot-error"));
    await watch.settled();
    expect(t.told).toHaveLength(2);
  });

  it("other events and other bots' runs do not count; a bot no longer installed is not told", async () => {
    const t = setup();
    const watch = t.make();
    for (let i = 0; i < FAILING_RUNS_IN_A_ROW; i += 1) {
      watch.observe({ event: "lmtp.spooled", bot: BOT, entry: "x", from: "a@chat.test" } as HostEvent);
      watch.observe({ ...run("bot-error"), bot: "gone@chat.test" } as HostEvent);
    }
    await watch.settled();
    expect(t.told).toEqual([]);
  });
});
