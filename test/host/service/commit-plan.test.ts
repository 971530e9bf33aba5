// The one commit point (host/service/commit-plan.ts) alone, on a bot installed like an operator
// does: a plan's state is saved, counted and reported to the mirror, its seen mark recorded, and
// what is left to journal has neither.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { StateIo } from "../../../host/policy/state-io.js";
import { commitPlan } from "../../../host/service/commit-plan.js";
import type { MailPlan } from "../../../host/service/handle-mail.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { loadInstalledBot, type InstalledBot } from "../../../host/service/installed-bots.js";
import { hostPaths } from "../../../host/service/paths.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";
import { initHost, installBot } from "../../support/host-fixture.js";

const ADDR = "bot@chat.test";
let data: string;
let bot: InstalledBot;

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), "commit-plan-"));
  data = await initHost(work);
  await installBot(work, data, { addr: ADDR });
  bot = (await loadInstalledBot(data, ADDR, await loadHostConfig(hostPaths(data).config, data), { now: () => T0 }))!;
});

const stateFile = () => JSON.parse(readFileSync(join(hostPaths(data).bot(ADDR).dir, "state.json"), "utf8")) as Record<string, string>;
const plan = (fields: Partial<MailPlan>): MailPlan => ({
  report: { outcome: "ran", sent: 1 },
  mails: [{ from: ADDR, recipients: ["alice@chat.test"], raw: "x", messageId: "<out@chat.test>" }],
  submitted: 0,
  state: null,
  ...fields,
});

describe("commitPlan", () => {
  it("saves the state (counted as its JSON bytes, one write), tells the mirror, marks the mail seen, and returns the plan without them", async () => {
    const clock = new FakeClock(T0);
    const io = new StateIo(clock, { stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 });
    const dirty: string[] = [];
    const state = { runs: "1" };
    const seen = { sender: "alice@chat.test", messageId: "<in-1@chat.test>" };
    const committed = await commitPlan(bot, plan({ state, seen }), { stateIo: io, markDirty: (addr) => dirty.push(addr) });
    expect(committed).toEqual({ report: { outcome: "ran", sent: 1 }, mails: plan({}).mails, submitted: 0, state: null });
    expect("seen" in committed).toBe(false);
    expect(stateFile()).toEqual(state);
    expect(await bot.account.seen.has(seen.sender, seen.messageId)).toBe(true);
    expect(dirty).toEqual([ADDR]);
    // One write of one op: the ops limit (1/s) is reached.
    expect(io.check()).toMatchObject({ allowed: false, limit: "stateWriteOpsPerSecond" });
  });

  it("a plan without state saves nothing, counts nothing and tells no mirror; its seen mark is still recorded", async () => {
    const before = stateFile();
    const io = new StateIo(new FakeClock(T0), { stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 });
    const dirty: string[] = [];
    const seen = { sender: "alice@chat.test", messageId: "<in-2@chat.test>" };
    const committed = await commitPlan(bot, plan({ seen, submitted: 1 }), { stateIo: io, markDirty: (addr) => dirty.push(addr) });
    expect(committed).toMatchObject({ submitted: 1, state: null });
    expect(stateFile()).toEqual(before);
    expect(io.check()).toEqual({ allowed: true });
    expect(dirty).toEqual([]);
    expect(await bot.account.seen.has(seen.sender, seen.messageId)).toBe(true);
  });

  it("committing the same plan again (a resume after a crash before the second journal write) leaves the same state and seen mark", async () => {
    const state = { runs: "2" };
    const seen = { sender: "alice@chat.test", messageId: "<in-3@chat.test>" };
    await commitPlan(bot, plan({ state, seen }));
    await commitPlan(bot, plan({ state, seen }));
    expect(stateFile()).toEqual(state);
    expect(await bot.account.seen.has(seen.sender, seen.messageId)).toBe(true);
  });
});
