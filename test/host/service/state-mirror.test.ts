// The state copy in the bot's own account (state-mirror.ts) against an in-memory ChatbotState
// folder: push replaces, pull restores, a crash between append and delete leaves the newest
// readable, bursts coalesce into one push, failures are retried; and the host service restores a
// missing state.json from the account before the bot's first event.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FolderMailbox } from "../../../host/deploy/imap-mailbox.js";
import { STATE_MIRROR_MIN_GAP_MS } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { HostService } from "../../../host/service/host-service.js";
import { loadTickSecret, tickEntry } from "../../../host/service/tick-scheduler.js";
import { BotStateFile } from "../../../host/service/bot-state-file.js";
import { hostPaths } from "../../../host/service/paths.js";
import { STATE_HEADER, StateMirror, composeStateMessage, parseMarker, parseStateMessage } from "../../../host/service/state-mirror.js";
import { Spool } from "../../../host/spool/spool.js";
import { FakeClock, FakeSmtp, botSettings, botState, initHost, installBot } from "../../support/host-fixture.js";

const BOT = "counter@chat.test";
/** The host's stateBytes ceiling in these tests (what a restore may bring in). */
const STATE_BYTES = 4096;
const PASSWORD = "bot-password-123";

/** An in-memory ChatbotState folder of one account; `crashAfterAppend` makes the next remove throw (the host "dies" there). */
function fakeAccount() {
  const folder = new Map<number, Uint8Array>();
  let next = 1;
  const ops: string[] = [];
  const account = { folder, ops, down: false, crashAfterAppend: false };
  const marker = (raw: Uint8Array) => new RegExp(`^${STATE_HEADER}:(.*)$`, "im").exec(Buffer.from(raw).toString("latin1"))?.[1]?.trim();
  const open = async (_settings: unknown, _user: string, password: string): Promise<FolderMailbox> => {
    if (account.down) throw new Error("connect ECONNREFUSED");
    if (password !== PASSWORD) throw Object.assign(new Error("auth"), { authenticationFailed: true });
    return {
      list: async () => [...folder.entries()].map(([uid, raw]) => ({ uid, marker: marker(raw) })),
      append: async (raw) => {
        ops.push("append");
        folder.set(next, raw);
        return next++;
      },
      download: async (uid) => folder.get(uid)!,
      remove: async (uids) => {
        if (account.crashAfterAppend) {
          account.crashAfterAppend = false;
          throw new Error("connection lost");
        }
        ops.push(`remove ${uids.join(",")}`);
        for (const uid of uids) folder.delete(uid);
      },
      close: async () => {},
    };
  };
  const versions = () => [...folder.values()].map((raw) => parseMarker(marker(raw))?.version);
  return { account, open, versions };
}

/** A data dir with the bot's password (all the mirror reads) and a mirror on a fake account. */
function setupMirror() {
  const data = mkdtempSync(join(tmpdir(), "state-mirror-"));
  mkdirSync(hostPaths(data).bot(BOT).dir, { recursive: true });
  writeFileSync(hostPaths(data).bot(BOT).password, PASSWORD);
  writeFileSync(hostPaths(data).bot(BOT).config, "{}");
  const fake = fakeAccount();
  const clock = new FakeClock(1_000_000);
  const logs: HostEvent[] = [];
  const config = {
    imap: { host: "127.0.0.1", port: 143, security: "starttls" as const, allowSelfSigned: true },
    ceilings: { event: { stateBytes: STATE_BYTES } },
  };
  const mirror = new StateMirror({ dataDir: data, config, clock, log: (line) => logs.push(line), openMailbox: fake.open });
  const state = new BotStateFile(join(hostPaths(data).bot(BOT).dir, "state.json"));
  return { data, fake, clock, logs, mirror, state };
}

describe("state copy message", () => {
  it("round-trips the state with its version, and refuses a body that does not match its sha256", () => {
    const raw = composeStateMessage(BOT, { runs: "3", é: '"ü"' }, 7, Date.UTC(2025, 0, 1));
    expect(parseStateMessage(raw, STATE_BYTES)).toEqual({ version: 7, state: { runs: "3", é: '"ü"' } });
    const text = Buffer.from(raw).toString("latin1");
    const body = Buffer.from(JSON.stringify({ runs: "4", é: '"ü"' })).toString("base64");
    const forged = Buffer.from(text.slice(0, text.indexOf("\r\n\r\n") + 4) + body, "latin1");
    expect(() => parseStateMessage(forged, STATE_BYTES)).toThrow(/does not match its sha256/);
  });

  // The account is the bot author's: a hostile author can plant any copy in ChatbotState.
  it("a planted copy holding more state than the host's stateBytes ceiling is refused: at the cap passes, one byte over fails", () => {
    const key = "k";
    // stateEntryBytes = key + JSON value, UTF-8: exactly STATE_BYTES.
    const atCap = { [key]: JSON.stringify("x".repeat(STATE_BYTES - 1 - 2)) };
    expect(parseStateMessage(composeStateMessage(BOT, atCap, 1, 0), STATE_BYTES).state).toEqual(atCap);
    const over = { [key]: JSON.stringify("x".repeat(STATE_BYTES - 1 - 1)) };
    expect(() => parseStateMessage(composeStateMessage(BOT, over, 1, 0), STATE_BYTES)).toThrow(/over the 4096 bytes/);
  });

  it("a planted 25 MB copy is refused from its size, before its body is decoded", () => {
    const huge = composeStateMessage(BOT, { k: JSON.stringify("x".repeat(25 * 1024 * 1024)) }, 1, 0);
    expect(() => parseStateMessage(huge, STATE_BYTES)).toThrow(/larger than any state of at most 4096 bytes/);
  });

  it("a planted copy whose values are not JSON text is refused", () => {
    expect(() => parseStateMessage(composeStateMessage(BOT, { k: "not json" }, 1, 0), STATE_BYTES)).toThrow(/not JSON text/);
  });
});

describe("state mirror", () => {
  it("push replaces the one copy; pull restores the newest", async () => {
    const t = setupMirror();
    expect(await t.mirror.pull(BOT)).toBeUndefined();
    expect(await t.mirror.push(BOT, { runs: "1" }, 1)).toBe(1);
    expect(await t.mirror.push(BOT, { runs: "2" }, 2)).toBe(2);
    expect(t.fake.account.folder.size).toBe(1);
    expect(t.fake.account.ops).toEqual(["append", "remove ", "append", "remove 1"]);
    expect(await t.mirror.pull(BOT)).toEqual({ version: 2, state: { runs: "2" } });
    // A stale local version never goes below what the folder has.
    expect(await t.mirror.push(BOT, { runs: "3" }, 1)).toBe(3);
  });

  it("a crash between append and delete leaves both copies, and pull reads the newest", async () => {
    const t = setupMirror();
    await t.mirror.push(BOT, { runs: "1" }, 1);
    t.fake.account.crashAfterAppend = true;
    await expect(t.mirror.push(BOT, { runs: "2" }, 2)).rejects.toThrow(/connection lost/);
    expect(t.fake.versions().sort()).toEqual([1, 2]);
    expect(await t.mirror.pull(BOT)).toEqual({ version: 2, state: { runs: "2" } });
    // The next push clears both.
    await t.mirror.push(BOT, { runs: "3" }, 3);
    expect(t.fake.versions()).toEqual([3]);
  });

  it("pull does not download a copy the server lists as larger than any allowed state, and takes the next readable one", async () => {
    const t = setupMirror();
    await t.mirror.push(BOT, { runs: "1" }, 1);
    const planted = composeStateMessage(BOT, { big: JSON.stringify("x".repeat(200_000)) }, 9, 0);
    t.fake.account.folder.set(99, planted);
    const downloads: number[] = [];
    const open = t.fake.open;
    const mirror = new StateMirror({
      dataDir: t.data,
      config: { imap: { host: "127.0.0.1", port: 143, security: "starttls", allowSelfSigned: true }, ceilings: { event: { stateBytes: STATE_BYTES } } },
      clock: t.clock,
      log: (line) => t.logs.push(line),
      openMailbox: async (settings, user, password) => {
        const box = await open(settings, user, password);
        return {
          ...box,
          list: async () => (await box.list()).map((m) => ({ ...m, size: t.fake.account.folder.get(m.uid)!.byteLength })),
          download: async (uid) => {
            downloads.push(uid);
            return box.download(uid);
          },
        };
      },
    });
    expect(await mirror.pull(BOT)).toEqual({ version: 1, state: { runs: "1" } });
    expect(downloads).not.toContain(99);
    expect(t.logs).toContainEqual(
      expect.objectContaining({ event: "state.mirror-error", op: "pull", uid: 99, error: expect.stringMatching(/not downloaded/) }),
    );
  });

  it("pull skips a damaged newest copy and takes the next readable one", async () => {
    const t = setupMirror();
    await t.mirror.push(BOT, { runs: "1" }, 1);
    const text = Buffer.from(composeStateMessage(BOT, { runs: "9" }, 9, 0)).toString("latin1");
    t.fake.account.folder.set(99, Buffer.from(text.replace(/\r\n\r\n[\s\S]*$/, "\r\n\r\nbm90IGl0"), "latin1"));
    expect(await t.mirror.pull(BOT)).toEqual({ version: 1, state: { runs: "1" } });
    expect(t.logs).toContainEqual(expect.objectContaining({ event: "state.mirror-error", bot: BOT, op: "pull", uid: 99 }));
  });

  it("coalesces a burst of saves into one push of the latest state", async () => {
    const t = setupMirror();
    for (let runs = 1; runs <= 5; runs++) {
      await t.state.save({ runs: String(runs) });
      t.mirror.markDirty(BOT);
    }
    await t.mirror.flushOnce();
    expect(t.fake.account.ops.filter((op) => op === "append")).toHaveLength(1);
    expect(await t.mirror.pull(BOT)).toEqual({ version: 1, state: { runs: "5" } });
    expect(t.logs.filter((l) => l.event === "state.mirrored")).toEqual([expect.objectContaining({ bot: BOT, version: 1 })]);
    // Nothing changed: no push.
    t.mirror.markDirty(BOT);
    await t.mirror.flushOnce();
    expect(t.fake.account.ops.filter((op) => op === "append")).toHaveLength(1);
    // Changed again within STATE_MIRROR_MIN_GAP_MS: it waits for the gap (or the host's stop).
    await t.state.save({ runs: "6" });
    t.mirror.markDirty(BOT);
    t.clock.advance(STATE_MIRROR_MIN_GAP_MS - 1);
    await t.mirror.flushOnce();
    expect(t.fake.account.ops.filter((op) => op === "append")).toHaveLength(1);
    expect(t.mirror.isDirty(BOT)).toBe(true);
    t.clock.advance(1);
    await t.mirror.flushOnce();
    expect(await t.mirror.pull(BOT)).toEqual({ version: 2, state: { runs: "6" } });
    await t.state.save({ runs: "7" });
    t.mirror.markDirty(BOT);
    await t.mirror.stop();
    expect(await t.mirror.pull(BOT)).toEqual({ version: 3, state: { runs: "7" } });
  });

  it("a state changed before a restart (never pushed) is pushed by the next host's first flush", async () => {
    const t = setupMirror();
    await t.state.save({ runs: "1" });
    // A folder left by an uninstalled bot (no bot.json) is not pushed.
    mkdirSync(hostPaths(t.data).bot("gone@chat.test").dir, { recursive: true });
    writeFileSync(join(hostPaths(t.data).bot("gone@chat.test").dir, "state.json"), "{}");
    await t.mirror.flushOnce(); // first flush scans: state.json differs from what was pushed (nothing)
    expect(await t.mirror.pull(BOT)).toEqual({ version: 1, state: { runs: "1" } });
    expect(t.logs.filter((l) => l.event === "state.mirror-error")).toEqual([]);
  });

  it("a failed push is logged, kept dirty and retried after the backoff", async () => {
    const t = setupMirror();
    await t.state.save({ runs: "1" });
    t.mirror.markDirty(BOT);
    t.fake.account.down = true;
    await t.mirror.flushOnce();
    expect(t.logs).toContainEqual(expect.objectContaining({ event: "state.mirror-error", bot: BOT, op: "push", attempts: 1, error: "connect ECONNREFUSED" }));
    expect(t.mirror.isDirty(BOT)).toBe(true);
    t.fake.account.down = false;
    await t.mirror.flushOnce(); // backoff not over: no try
    expect(t.fake.account.folder.size).toBe(0);
    t.clock.advance(5_000);
    await t.mirror.flushOnce();
    expect(await t.mirror.pull(BOT)).toEqual({ version: 1, state: { runs: "1" } });
    expect(t.mirror.isDirty(BOT)).toBe(false);
  });

  it("ensureRestored pulls a missing state.json once; an unreachable account makes the bot wait", async () => {
    const t = setupMirror();
    await t.mirror.push(BOT, { runs: "41" }, 4);
    t.fake.account.down = true;
    const retryAt = await t.mirror.ensureRestored(BOT);
    expect(retryAt).toBe(t.clock.now() + 5_000);
    expect(t.logs).toContainEqual(expect.objectContaining({ event: "state.mirror-error", bot: BOT, op: "pull" }));
    t.fake.account.down = false;
    t.clock.advance(5_000);
    expect(await t.mirror.ensureRestored(BOT)).toBeUndefined();
    expect(await t.state.load()).toEqual({ runs: "41" });
    expect(t.logs).toContainEqual({ event: "state.restored", bot: BOT, version: 4, keys: 1 });
    // The restored state is what was pushed: the first flush has nothing to do.
    await t.mirror.flushOnce();
    expect(t.fake.account.ops.filter((op) => op === "append")).toHaveLength(1);
  });
});

describe("host service with the state mirror", () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = new Executor({ launcher: await hostLauncher() });
    await executor.warmUp();
  });
  afterAll(async () => {
    await executor?.close();
  });

  const TICK_COUNTER = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    await bot.reply(msg.text);
  },
  async tick(bot) {
    await bot.state.set("ticks", ((await bot.state.get<number>("ticks")) ?? 0) + 1);
  },
});
`;

  it("marks the bot dirty on each save, and restores a deleted state.json from the account before the next event", async () => {
    const work = mkdtempSync(join(tmpdir(), "state-mirror-service-"));
    const data = await initHost(work);
    await installBot(work, data, { addr: BOT, source: TICK_COUNTER, manifest: { schedule: "hourly" } }, PASSWORD);
    const clock = new FakeClock((await botSettings(data, BOT)).installedAt);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const fake = fakeAccount();
    const logs: HostEvent[] = [];
    const log = (line: HostEvent) => logs.push(line);
    const start = () => {
      const mirror = new StateMirror({ dataDir: data, config, clock, log, openMailbox: fake.open });
      const service = new HostService({
        sleep: async () => {},
        dataDir: data,
        config,
        spool: new Spool(hostPaths(data).spool, clock),
        executor,
        clock,
        log,
        submitterFor: () => new FakeSmtp(),
        mirror,
      });
      return { mirror, service };
    };
    const first = start();
    for (let i = 0; i < 2; i++) {
      clock.advance(60 * 60_000);
      await first.service.drainOnce();
    }
    expect(await botState(data, BOT)).toEqual({ ticks: 2 });
    expect(first.mirror.isDirty(BOT)).toBe(true);
    await first.mirror.stop();
    expect(fake.versions()).toEqual([1]);

    // A new machine: the state file is gone; the next host pulls it before the bot's tick runs.
    rmSync(join(hostPaths(data).bot(BOT).dir, "state.json"));
    const second = start();
    clock.advance(60 * 60_000);
    await second.service.drainOnce();
    expect(logs).toContainEqual(expect.objectContaining({ event: "state.restored", bot: BOT, version: 1 }));
    expect(await botState(data, BOT)).toEqual({ ticks: 3 });
    await second.mirror.stop();
    expect(fake.versions()).toEqual([2]);
    await second.service.stop();
    await first.service.stop();
  }, 60_000);

  it("defers the bot's events while the account cannot be read and its state.json is missing", async () => {
    const work = mkdtempSync(join(tmpdir(), "state-mirror-service-"));
    const data = await initHost(work);
    await installBot(work, data, { addr: BOT, source: TICK_COUNTER, manifest: { schedule: "hourly" } }, PASSWORD);
    const clock = new FakeClock((await botSettings(data, BOT)).installedAt);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const fake = fakeAccount();
    fake.account.down = true;
    const logs: HostEvent[] = [];
    const mirror = new StateMirror({ dataDir: data, config, clock, log: (line) => logs.push(line), openMailbox: fake.open });
    const spool = new Spool(hostPaths(data).spool, clock);
    const service = new HostService({
      sleep: async () => {},
      dataDir: data,
      config,
      spool,
      executor,
      clock,
      log: (line) => logs.push(line),
      submitterFor: () => new FakeSmtp(),
      mirror,
    });
    clock.advance(60 * 60_000);
    await service.drainOnce();
    expect(await botState(data, BOT)).toEqual({});
    expect(logs).toContainEqual(expect.objectContaining({ event: "state.mirror-error", op: "pull" }));
    fake.account.down = false;
    clock.advance(5_000);
    await service.drainOnce();
    expect(await botState(data, BOT)).toEqual({ ticks: 1 });
    await service.stop();
  }, 60_000);

  it("defers an event while the bot's state writes are over stateWriteOpsPerSecond, and runs it a second later", async () => {
    const work = mkdtempSync(join(tmpdir(), "state-io-service-"));
    const data = await initHost(work);
    await installBot(work, data, { addr: BOT, source: TICK_COUNTER, manifest: { schedule: "hourly" } }, PASSWORD);
    const clock = new FakeClock((await botSettings(data, BOT)).installedAt + 1);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const logs: HostEvent[] = [];
    const spool = new Spool(hostPaths(data).spool, clock);
    const service = new HostService({
      sleep: async () => {},
      dataDir: data,
      config,
      spool,
      executor,
      clock,
      log: (line) => logs.push(line),
      submitterFor: () => new FakeSmtp(),
      stateIoLimits: { stateWriteBytesPerSecond: 1_000_000, stateWriteOpsPerSecond: 1 },
    });
    const secret = await loadTickSecret(data);
    await spool.write(BOT, tickEntry(secret, clock.now() - 1), 1024);
    clock.advance(1);
    await spool.write(BOT, tickEntry(secret, clock.now() - 1), 1024);
    await service.drainOnce();
    expect(await botState(data, BOT)).toEqual({ ticks: 1 });
    expect(logs).toContainEqual(expect.objectContaining({ event: "bot.deferred", bot: BOT, reason: "bot state writes stateWriteOpsPerSecond used up" }));
    clock.advance(1000);
    await service.drainOnce();
    expect(await botState(data, BOT)).toEqual({ ticks: 2 });
    await service.stop();
  }, 60_000);
});
