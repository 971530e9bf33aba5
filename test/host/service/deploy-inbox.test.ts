// The deploy inbox: Dovecot's hook drops each deploy appended to any ChatbotInstall folder into one
// folder, named after the account; the host hands each file to the installer in name order, refuses
// what is over the cap unread, and keeps what failed for the moment for a later try.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEPLOY_INBOX_STALE_MS, DEPLOYS_PER_ACCOUNT_PER_HOUR } from "../../../core/limits.js";
import { DeployInbox, droppedAccount } from "../../../host/service/deploy-inbox.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";
import { until } from "../../support/poll.js";

const MAX_BYTES = 1_000;
/** A valid name that sorts after every other digit-named file here: once it is gone, the scan has passed them. */
const SENTINEL = "9999.1.sentinel@chat.test";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** An inbox on a fresh 0770 folder with a fake clock; `failFor` accounts make `install` throw. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), "deploy-inbox-"));
  chmodSync(dir, 0o770);
  const clock = new FakeClock(T0);
  const events: HostEvent[] = [];
  const installs: Array<{ account: string; raw: string }> = [];
  const refusals: Array<{ account: string; reason: string }> = [];
  const failFor = new Set<string>();
  let install = async (account: string, raw: Uint8Array): Promise<void> => {
    installs.push({ account, raw: Buffer.from(raw).toString("latin1") });
    if (failFor.has(account)) throw new Error("IMAP is down");
  };
  const inbox = new DeployInbox({
    dir,
    maxBytes: MAX_BYTES,
    clock,
    log: (event) => events.push(event),
    install: (account, raw) => install(account, raw),
    refused: async (account, reason) => {
      refusals.push({ account, reason });
    },
  });
  cleanups.push(async () => {
    await inbox.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const drop = (name: string, content = `deploy in ${name}`) => writeFileSync(join(dir, name), content);
  /** Poke and wait until the looks have handled every ready file (the sentinel is one of them). */
  const scanned = async () => {
    drop(SENTINEL);
    inbox.poke();
    await until(() => !existsSync(join(dir, SENTINEL)), "the sentinel handled");
    await inbox.idle();
  };
  const deploys = () => installs.filter((i) => i.account !== "sentinel@chat.test");
  const accounts = () => deploys().map((i) => i.account);
  return {
    dir,
    clock,
    events,
    installs,
    refusals,
    failFor,
    inbox,
    drop,
    scanned,
    deploys,
    accounts,
    left: () => readdirSync(dir).sort(),
    setInstall: (fn: typeof install) => {
      install = fn;
    },
  };
}

describe("droppedAccount", () => {
  it("reads the account from <time>.<pid>.<account>, lower-cased", () => {
    expect(droppedAccount("1735725600123456789.4242.bot@chat.test")).toBe("bot@chat.test");
    expect(droppedAccount("1.2.Bot@Chat.Test")).toBe("bot@chat.test");
  });

  it("takes everything after the second dot: an account that starts with digits and a dot survives", () => {
    expect(droppedAccount("1.2.12.34@chat.test")).toBe("12.34@chat.test");
  });

  it("no account for a name our hook does not write", () => {
    for (const name of [
      "bot@chat.test", // no time and pid
      "1.bot@chat.test", // no pid
      "x.2.bot@chat.test",
      "1.2.", // nothing after the pid
      "1.2.not-an-address",
      "1.2.a@b@chat.test",
      "1.2.bot @chat.test",
      "1.2.a..b@chat.test",
      "1.2.bot@chat.test\n",
      ".1.2.bot@chat.test", // a hook still writing
      "1.2..x@chat.test", // would name a hidden bots/.x@… folder
      "..",
    ]) {
      expect(droppedAccount(name), name).toBeUndefined();
    }
  });
});

describe("deploy inbox start", () => {
  it("refuses a folder that does not exist, with the command that creates it", async () => {
    const { dir } = setup();
    const missing = join(dir, "missing");
    const inbox = new DeployInbox({ dir: missing, maxBytes: MAX_BYTES, clock: new FakeClock(T0), log: () => {}, install: async () => {} });
    await expect(inbox.start()).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringMatching(new RegExp(`${missing} is not a folder; as root: install -d .* -m 2770 ${missing}.*or run 'chatbot host setup'`)),
    });
  });

  it("refuses a folder any user may look into (0777, 0775), naming its mode and the fix", async () => {
    for (const mode of [0o777, 0o775, 0o771]) {
      const { dir } = setup();
      chmodSync(dir, mode);
      const inbox = new DeployInbox({ dir, maxBytes: MAX_BYTES, clock: new FakeClock(T0), log: () => {}, install: async () => {} });
      await expect(inbox.start()).rejects.toMatchObject({
        code: "E_CONFIG",
        message: expect.stringMatching(new RegExp(`open to every user \\(mode ${mode.toString(8)}\\); as root: install -d .* -m 2770 ${dir}`)),
      });
    }
  });

  it("a 2770 folder is watched: a file dropped after start is handled without a poke, well before the next scan", async () => {
    const t = setup();
    chmodSync(t.dir, 0o2770);
    await t.inbox.start();
    expect(t.events).toContainEqual({ event: "deploy.watching", inbox: t.dir });
    t.drop("1000.1.bot@chat.test");
    // DEPLOY_INBOX_SCAN_MS is 5 s: within 2 s only the folder watch can have seen it.
    await until(() => t.installs.length > 0, "the dropped deploy installed", 2_000);
    expect(t.accounts()).toEqual(["bot@chat.test"]);
  });
});

describe("deploy inbox", () => {
  it("hands a dropped deploy to install with its account and exact bytes, then removes it", async () => {
    const t = setup();
    const bytes = "From: <bot@chat.test>\r\n\r\n\u00ff\u0000 binary-ish";
    t.drop("1000.1.Bot@Chat.Test", bytes);
    await t.scanned();
    expect(t.deploys()).toEqual([{ account: "bot@chat.test", raw: Buffer.from(bytes).toString("latin1") }]);
    expect(t.events).toContainEqual({ event: "deploy.received", account: "bot@chat.test", bytes: Buffer.byteLength(bytes) });
    expect(t.left()).toEqual([]);
  });

  it("handles the files in name order (the hook's names start with the time)", async () => {
    const t = setup();
    t.drop("1003.1.c@chat.test");
    t.drop("1001.1.a@chat.test");
    t.drop("1002.1.b@chat.test");
    await t.scanned();
    expect(t.accounts()).toEqual(["a@chat.test", "b@chat.test", "c@chat.test"]);
  });

  it("a file of exactly maxBytes is installed; one byte over is refused unread and removed", async () => {
    const t = setup();
    t.drop("1000.1.at-cap@chat.test", "x".repeat(MAX_BYTES));
    t.drop("1001.1.over@chat.test", "x".repeat(MAX_BYTES + 1));
    await t.scanned();
    expect(t.accounts()).toEqual(["at-cap@chat.test"]);
    expect(t.events).toContainEqual({
      event: "deploy.refused",
      account: "over@chat.test",
      reason: expect.stringMatching(/^E_DEPLOY: .*over the host's cap of 1000/),
    });
    expect(t.events).not.toContainEqual(expect.objectContaining({ event: "deploy.received", account: "over@chat.test" }));
    expect(t.left()).toEqual([]);
  });

  it("a name no hook of ours writes is logged as deploy.stray and removed, never installed", async () => {
    const t = setup();
    t.drop("notes.txt");
    t.drop("1.2.not-an-address");
    t.inbox.poke();
    await until(() => t.left().length === 0, "the stray files removed");
    expect(t.installs).toEqual([]);
    expect(t.events.filter((e) => e.event === "deploy.stray")).toEqual([
      { event: "deploy.stray", file: "1.2.not-an-address" },
      { event: "deploy.stray", file: "notes.txt" },
    ]);
  });

  it("a dot-file (a hook still writing) is left alone until it is older than DEPLOY_INBOX_STALE_MS by the clock", async () => {
    const t = setup();
    const writing = join(t.dir, ".1000.1.bot@chat.test");
    writeFileSync(writing, "half a deploy");
    utimesSync(writing, T0 / 1000, T0 / 1000);
    t.clock.set(T0 + DEPLOY_INBOX_STALE_MS);
    await t.scanned();
    expect(t.left()).toEqual([".1000.1.bot@chat.test"]);
    t.clock.advance(1);
    await t.scanned();
    expect(t.left()).toEqual([]);
    expect(t.accounts()).toEqual([]);
  });

  it("a deploy whose install throws stays, is not tried again before 30 s on the clock, then is and is removed", async () => {
    const t = setup();
    t.failFor.add("bot@chat.test");
    t.drop("1000.1.bot@chat.test", "the deploy");
    await t.scanned();
    expect(t.accounts()).toEqual(["bot@chat.test"]);
    expect(t.left()).toEqual(["1000.1.bot@chat.test"]);
    expect(t.events).toContainEqual({ event: "deploy.error", error: expect.stringMatching(/^bot@chat\.test: IMAP is down; tried again in 30 s$/) });

    t.failFor.clear();
    t.clock.advance(29_999);
    await t.scanned();
    expect(t.accounts()).toEqual(["bot@chat.test"]);
    expect(t.left()).toEqual(["1000.1.bot@chat.test"]);

    t.clock.advance(1);
    await t.scanned();
    expect(t.deploys()).toEqual([
      { account: "bot@chat.test", raw: "the deploy" },
      { account: "bot@chat.test", raw: "the deploy" },
    ]);
    expect(t.left()).toEqual([]);
  });

  it("stop() waits for the deploy in progress, and no other is handled after it", async () => {
    const t = setup();
    let finish = () => {};
    const started: string[] = [];
    t.setInstall(async (account) => {
      started.push(account);
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    t.drop("1000.1.first@chat.test");
    t.drop("1001.1.second@chat.test");
    t.inbox.poke();
    await until(() => started.length === 1, "the first install started");
    let stopped = false;
    const stopping = t.inbox.stop().then(() => {
      stopped = true;
    });
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(started).toEqual(["first@chat.test"]);
    expect(t.left()).toEqual(["1001.1.second@chat.test"]);
    // A poke after stop() does nothing.
    t.inbox.poke();
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(["first@chat.test"]);
  });

  it("one account is handled at most DEPLOYS_PER_ACCOUNT_PER_HOUR times an hour; the rest is dropped, with one log line", async () => {
    const t = setup();
    for (let i = 0; i < DEPLOYS_PER_ACCOUNT_PER_HOUR + 5; i += 1) t.drop(`${1000 + i}.1.flood@chat.test`);
    t.drop("2000.1.other@chat.test");
    await t.scanned();
    expect(t.accounts().filter((a) => a === "flood@chat.test")).toHaveLength(DEPLOYS_PER_ACCOUNT_PER_HOUR);
    expect(t.accounts()).toContain("other@chat.test");
    expect(t.events.filter((e) => e.event === "deploy.refused" && e.account === "flood@chat.test")).toHaveLength(1);
    expect(t.left()).toEqual([]);
  });

  it("one pass takes one file per account: an account with many files does not hold up the next account's deploy", async () => {
    const t = setup();
    for (let i = 0; i < 5; i += 1) t.drop(`${1000 + i}.1.busy@chat.test`);
    t.drop("1005.1.other@chat.test");
    await t.scanned();
    expect(t.accounts().slice(0, 2)).toEqual(["busy@chat.test", "other@chat.test"]);
    expect(t.accounts().filter((a) => a === "busy@chat.test")).toHaveLength(5);
    expect(t.left()).toEqual([]);
  });

  it("a deploy that keeps failing is tried after 30 s, 60 s, 120 s … (at most 10 min apart), and dropped an hour after its first failure with the account told", async () => {
    const t = setup();
    t.failFor.add("bot@chat.test");
    t.drop("1000.1.bot@chat.test", "the deploy");
    await t.scanned();
    const tries = () => t.accounts().length;
    expect(tries()).toBe(1);
    const waits = [30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000];
    let elapsed = 0;
    for (const wait of waits) {
      t.clock.advance(wait - 1);
      await t.scanned();
      const before = tries();
      t.clock.advance(1);
      await t.scanned();
      expect(tries(), `tried again ${wait} ms after the last try`).toBe(before + 1);
      elapsed += wait;
    }
    expect(elapsed).toBeLessThan(60 * 60_000);
    expect(t.left()).toEqual(["1000.1.bot@chat.test"]);
    t.clock.advance(60 * 60_000 - elapsed);
    await t.scanned();
    expect(t.left()).toEqual([]);
    expect(t.refusals).toEqual([
      { account: "bot@chat.test", reason: expect.stringMatching(/^E_DEPLOY: the host could not act on it for 60 minutes \(IMAP is down\); deploy again/) },
    ]);
  });
});
