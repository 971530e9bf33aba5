// Replay after eviction (issue 9, defect 8): the seen store forgets the oldest Message-IDs beyond
// its cap. An attacker who captured a validly signed mail replays it once its id is gone: the bot
// must not run again. The store's cap is lowered for these tests (the default is SEEN_MAX_IDS);
// the mails are real — signed at a chosen time by a key older than that, and encrypted to the bot.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SEEN_CLOCK_SKEW_MS, SEEN_MAX_IDS } from "../../../core/limits.js";
import { receiveMail } from "../../../host/wire/inbound.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { SeenStore } from "../../../host/wire/seen-store.js";
import { replayRefusal } from "../../../host/wire/replay-window.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { planTick, tickSeenKey } from "../../../host/service/handle-mail.js";
import type { Executor } from "../../../host/executor/executor.js";
import { BotStateFile } from "../../../host/service/bot-state-file.js";
import { newIdentity, splitMail, userMail } from "../../support/user-mail.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const BOT = "echobot01@chat.test";
const ALICE = "alice@chat.test";
const DAY = 24 * 60 * 60_000;
/** The lowered cap: three ids. */
const CAP = 3;

let alice: BotIdentity;
const now = Date.now();

beforeAll(async () => {
  // Alice's key is a month old, so it can sign the mail captured twenty days ago.
  alice = await newIdentity(ALICE, new Date(now - 30 * DAY));
});

/** A bot whose seen store keeps CAP ids, and its movable clock (starts at `start`). */
async function bot(start: number): Promise<{ account: BotAccount; clock: { now: number }; seenFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), "inbound-replay-"));
  const clock = { now: start };
  const account = await openBotAccount(dir, BOT, "Echo Bot", { now: () => clock.now });
  const seenFile = join(dir, "bots", BOT, "seen.json");
  account.seen = new SeenStore(seenFile, { now: () => clock.now }, { maxIds: CAP });
  return { account, clock, seenFile };
}

function aliceMail(account: BotAccount, signedAt: Date, text = "hello") {
  return userMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer: alice, body: { kind: "text", text }, date: signedAt, signedAt });
}

let fillers = 0;
/** CAP other mails handled one hour apart: every id recorded before them is forgotten. */
async function fillPastCap(account: BotAccount, clock: { now: number }): Promise<void> {
  for (let i = 0; i < CAP; i++) {
    clock.now += 60 * 60_000;
    await account.seen.add("bob@chat.test", `<filler-${fillers++}@chat.test>`);
  }
}

describe("replay after eviction", () => {
  it("the default cap is unchanged (SEEN_MAX_IDS = 10 000); the tests lower it through the store's option", () => {
    expect(SEEN_MAX_IDS).toBe(10_000);
  });

  it("replay after eviction: a captured, validly signed mail replayed once its Message-ID is forgotten is dropped as a possible replay; a fresh mail runs", async () => {
    const { account, clock } = await bot(now - 20 * DAY);
    const captured = await aliceMail(account, new Date(now - 20 * DAY));
    expect((await receiveMail(account, captured.raw, LIMITS)).kind).toBe("event");
    expect((await receiveMail(account, captured.raw, LIMITS)).kind).toBe("drop"); // remembered: a duplicate

    await fillPastCap(account, clock);
    expect(await account.seen.has(ALICE, captured.messageId)).toBe(false); // forgotten
    clock.now = now;
    const replay = await receiveMail(account, captured.raw, LIMITS);
    expect(replay).toMatchObject({ kind: "drop" });
    expect(replay.kind === "drop" && replay.reason).toMatch(/^possible replay: dated .* the bot remembers every handled Message-ID only since /);

    const fresh = await aliceMail(account, new Date(now));
    expect(await receiveMail(account, fresh.raw, LIMITS)).toMatchObject({ kind: "event", event: { message: { id: fresh.messageId } } });
  });

  it("the horizon survives a restart: a new store on the same files (snapshot and log lines) still refuses the replay", async () => {
    const { account, clock, seenFile } = await bot(now - 20 * DAY);
    const captured = await aliceMail(account, new Date(now - 20 * DAY));
    expect((await receiveMail(account, captured.raw, LIMITS)).kind).toBe("event");
    await fillPastCap(account, clock);
    const horizon = await account.seen.completeSince();
    expect(horizon).toBe(now - 20 * DAY); // the recorded-at time of the captured mail, the one forgotten

    clock.now = now;
    account.seen = new SeenStore(seenFile, { now: () => clock.now }, { maxIds: CAP });
    expect(await account.seen.completeSince()).toBe(horizon);
    const replay = await receiveMail(account, captured.raw, LIMITS);
    expect(replay.kind === "drop" && replay.reason).toMatch(/^possible replay/);
    expect((await receiveMail(account, (await aliceMail(account, new Date(now))).raw, LIMITS)).kind).toBe("event");
  });

  it("while the store has forgotten nothing, an old mail it never saw runs (the Message-ID check alone decides)", async () => {
    const { account } = await bot(now);
    const old = await aliceMail(account, new Date(now - 20 * DAY));
    expect((await receiveMail(account, old.raw, LIMITS)).kind).toBe("event");
    expect(await account.seen.completeSince()).toBeUndefined();
  });

  it("a replayed old pre-message is refused, not held for a post-message (the replayed pair never joins)", async () => {
    const { account, clock } = await bot(now);
    await fillPastCap(account, clock);
    await fillPastCap(account, clock); // the first three are forgotten: the horizon is three hours after `now`
    const pair = await splitMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: alice,
      text: "file",
      file: { name: "a.bin", type: "application/octet-stream", data: new Uint8Array(10) },
      signedAt: new Date(now),
      date: new Date(now),
    });
    const pre = await receiveMail(account, pair.pre, LIMITS);
    expect(pre.kind === "drop" && pre.reason).toMatch(/^possible replay/);
    expect(await account.pending.list()).toEqual([]);
    const post = await receiveMail(account, pair.post, LIMITS);
    expect(post.kind === "drop" && post.reason).toMatch(/^possible replay/);
  });

  it("a tick whose seen mark was forgotten does not run again (its time is before the horizon)", async () => {
    const { account, clock } = await bot(now);
    const at = now;
    const mark = tickSeenKey(at);
    await account.seen.add(mark.sender, mark.messageId);
    await fillPastCap(account, clock);
    const unused = {} as Executor; // the tick is refused before the sandbox is asked
    const plan = await planTick(
      {
        account,
        bundle: { id: "x", code: "", filename: "bot.js" },
        limits: {} as never,
        origins: [],
        state: new BotStateFile(join(tmpdir(), "unused-state.json")),
      },
      at,
      { executor: unused, submitter: { submit: async () => {}, close: () => {} }, log: () => {}, maxMailBytes: LIMITS.maxBytes },
    );
    expect(plan.report.outcome).toBe("dropped");
    expect(plan.report.reason).toMatch(/possible replay/);
  });
});

describe("replayRefusal (pure)", () => {
  const horizon = Date.UTC(2026, 0, 1);

  it("nothing forgotten: never refuses, not even an undated event", () => {
    expect(replayRefusal(0, undefined)).toBeUndefined();
    expect(replayRefusal(undefined, undefined)).toBeUndefined();
  });

  it("at the horizon + SEEN_CLOCK_SKEW_MS it refuses; one ms later it passes", () => {
    expect(replayRefusal(horizon + SEEN_CLOCK_SKEW_MS, horizon)).toMatch(/^possible replay: dated 2026-01-01T00:10:00.000Z/);
    expect(replayRefusal(horizon + SEEN_CLOCK_SKEW_MS + 1, horizon)).toBeUndefined();
  });

  it("an event with no date (no signature time, no protected Date) is refused once the store has forgotten anything", () => {
    expect(replayRefusal(undefined, horizon)).toMatch(/^possible replay: no signed date/);
    expect(replayRefusal(Number.NaN, horizon)).toMatch(/^possible replay: no signed date/);
  });
});

describe("seen store horizon", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "seen-horizon-")), "seen.json");

  it("at the cap nothing is forgotten; one over forgets the oldest and the horizon is its recorded-at time", async () => {
    let t = 1000;
    const store = new SeenStore(file(), { now: () => t }, { maxIds: CAP });
    for (let i = 0; i < CAP; i++) {
      await store.add("a@x", `<${i}@x>`);
      t += 10;
    }
    expect(await store.completeSince()).toBeUndefined();
    expect(await store.has("a@x", "<0@x>")).toBe(true);
    await store.add("a@x", "<3@x>");
    expect(await store.has("a@x", "<0@x>")).toBe(false);
    expect(await store.completeSince()).toBe(1000);
  });

  it("the horizon is in the snapshot: after a compaction the forgotten ids are in no file, and a restarted store still knows it", async () => {
    const f = file();
    let t = 0;
    const first = new SeenStore(f, { now: () => t }, { maxIds: CAP });
    // JSON_LOG_COMPACT_LINES (500) appended lines, then the next add writes a snapshot of CAP ids.
    for (let i = 0; i < 503; i++) {
      t += 1;
      await first.add("a@x", `<${i}@x>`);
    }
    const { readFileSync } = await import("node:fs");
    const snapshot = JSON.parse(readFileSync(f, "utf8")) as { completeSince: number; ids: unknown[] };
    expect(snapshot.ids).toHaveLength(CAP);
    expect(readFileSync(`${f}.log`, "utf8").split("\n").length).toBeLessThan(5);
    const second = new SeenStore(f, { now: () => t }, { maxIds: CAP });
    expect(await second.completeSince()).toBe(await first.completeSince());
    expect(await second.completeSince()).toBe(503 - CAP);
  });

  it("reads the bare [key, ms] array an older host wrote, forgetting beyond the cap with a horizon", async () => {
    const f = file();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      f,
      JSON.stringify([
        ["a@x <0@x>", 5],
        ["a@x <1@x>", 6],
        ["a@x <2@x>", 7],
        ["a@x <3@x>", 8],
      ]),
    );
    const store = new SeenStore(f, { now: () => 9 }, { maxIds: CAP });
    expect(await store.has("a@x", "<0@x>")).toBe(false);
    expect(await store.completeSince()).toBe(5);
  });
});
