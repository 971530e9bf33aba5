// Control deploys (`chatbot deploy --pause/--resume/--remove`) and deploys the deploy inbox hands
// over (installArrived): the login with the deploy's own password is the proof of ownership.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { DEPLOY_INBOX_LOOKS } from "../../../core/limits.js";
import { runCli } from "../../../host/cli/main.js";
import { composeControlMessage, composeDeployMessage } from "../../../host/deploy/deploy-message.js";
import { DeployWatcher } from "../../../host/service/deploy-watcher.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { parseHostConfig } from "../../../host/service/host-config.js";
import { hostPaths, isInstalledBot } from "../../../host/service/paths.js";
import { captureIo } from "../../support/cli-io.js";
import { fakeDeployRelay } from "../../support/fake-deploy-relay.js";

const BOT = "echobot01@chat.test";
const NEW = "newbot01@chat.test";
const PASSWORDS: Record<string, string> = { [BOT]: "echo-bot-password", [NEW]: "new-bot-password" };
const NOW = 1_000_000;

/** A data dir with BOT installed (bot.json and password: what a control deploy needs), and a watcher on a fake relay. */
function setup() {
  const dataDir = mkdtempSync(join(tmpdir(), "deploy-controls-"));
  const paths = hostPaths(dataDir).bot(BOT);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.config, JSON.stringify({ name: "echo", enabled: true, approvedOrigins: [], installedAt: 0 }));
  writeFileSync(paths.password, PASSWORDS[BOT]!);
  const relay = fakeDeployRelay(PASSWORDS);
  const events: HostEvent[] = [];
  const onRouted = vi.fn<(addr: string, since: number) => void>();
  const notices: Array<{ account: string; kind: string; text: string }> = [];
  const watcher = new DeployWatcher({
    notify: async (account, kind, text) => {
      notices.push({ account, kind, text });
    },
    dataDir,
    config: parseHostConfig({}, "host.json"),
    clock: { now: () => NOW },
    log: (event) => events.push(event),
    openMailbox: relay.open,
    onRouted,
    lookDelayMs: 1,
  });
  return { dataDir, relay, events, onRouted, notices, watcher };
}

const control = (addr: string, action: "pause" | "resume" | "remove", password = PASSWORDS[addr] ?? "some-password") =>
  composeControlMessage(addr, action, password);

describe("control deploys", () => {
  it("pause writes paused.json, logs install.paused and deletes the message", async () => {
    const t = setup();
    t.relay.deposit(BOT, control(BOT, "pause"));
    expect(await t.watcher.checkAccount(BOT)).toMatchObject([{ status: "paused" }]);
    expect(JSON.parse(readFileSync(hostPaths(t.dataDir).bot(BOT).paused, "utf8"))).toEqual({ at: NOW, by: "author" });
    expect(t.events).toContainEqual({ event: "install.paused", bot: BOT });
    expect(t.relay.folderOf(BOT).size).toBe(0);
    expect(t.relay.refused).toEqual([]);
    expect(t.onRouted).not.toHaveBeenCalled();
  });

  it("resume removes paused.json and tells onRouted that the bot gets its mail again", async () => {
    const t = setup();
    t.relay.deposit(BOT, control(BOT, "pause"));
    t.relay.deposit(BOT, control(BOT, "resume"));
    expect((await t.watcher.checkAccount(BOT)).map((o) => o.status)).toEqual(["paused", "resumed"]);
    expect(existsSync(hostPaths(t.dataDir).bot(BOT).paused)).toBe(false);
    expect(t.events).toContainEqual({ event: "install.resumed", bot: BOT });
    expect(t.onRouted.mock.calls).toEqual([[BOT, NOW]]);
  });

  it("remove moves the bot's folder under removed/", async () => {
    const t = setup();
    t.relay.deposit(BOT, control(BOT, "remove"));
    expect(await t.watcher.checkAccount(BOT)).toMatchObject([{ status: "removed" }]);
    expect(isInstalledBot(t.dataDir, BOT)).toBe(false);
    expect(readdirSync(join(t.dataDir, "removed"))).toEqual([`${BOT}.1970-01-01T00-16-40-000Z`]);
    expect(t.events).toContainEqual({ event: "install.removed", bot: BOT });
    expect(t.relay.folderOf(BOT).size).toBe(0);
  });

  it("a bot the operator disabled cannot be removed by its author (a fresh deploy would come back enabled); pause and resume still work", async () => {
    const t = setup();
    const config = hostPaths(t.dataDir).bot(BOT).config;
    writeFileSync(config, JSON.stringify({ name: "echo", enabled: false, disabledReason: "reported for spam", approvedOrigins: [], installedAt: 0 }));
    t.relay.deposit(BOT, control(BOT, "remove"));
    t.relay.deposit(BOT, control(BOT, "pause"));
    t.relay.deposit(BOT, control(BOT, "resume"));
    const outcomes = await t.watcher.checkAccount(BOT);
    expect(outcomes.map((o) => o.status)).toEqual(["refused", "paused", "resumed"]);
    expect(outcomes[0]).toMatchObject({
      reason: expect.stringMatching(/operator disabled echobot01@chat\.test \(reported for spam\): it cannot be removed by its author/),
    });
    expect(isInstalledBot(t.dataDir, BOT)).toBe(true);
    // Resuming the author's pause does not enable what the operator disabled.
    expect(JSON.parse(readFileSync(config, "utf8"))).toMatchObject({ enabled: false, disabledReason: "reported for spam" });
  });

  it("a control deploy for an account with no bot is refused and moved to Refused", async () => {
    const t = setup();
    t.relay.deposit(NEW, control(NEW, "pause"));
    expect(await t.watcher.checkAccount(NEW, { password: PASSWORDS[NEW]! })).toMatchObject([
      { status: "refused", reason: `E_DEPLOY: no bot is installed at ${NEW} to pause: deploy one first with 'chatbot deploy'` },
    ]);
    expect(t.events).toContainEqual(expect.objectContaining({ event: "install.refused", bot: NEW }));
    expect(t.relay.refused).toEqual([{ account: NEW, uid: 1 }]);
    expect(existsSync(hostPaths(t.dataDir).bot(NEW).dir)).toBe(false);
  });

  it("a control deploy addressed to another account is refused naming both, and the bot stays", async () => {
    const t = setup();
    t.relay.deposit(BOT, control(NEW, "remove", PASSWORDS[BOT]));
    const [outcome] = await t.watcher.checkAccount(BOT);
    expect(outcome).toMatchObject({ status: "refused", reason: expect.stringContaining(`the deploy is for "${NEW}" but was put into the folder of ${BOT}`) });
    expect(t.relay.refused).toEqual([{ account: BOT, uid: 1 }]);
    expect(isInstalledBot(t.dataDir, BOT)).toBe(true);
  });
});

describe("installArrived (a deploy the deploy inbox handed over)", () => {
  let bundle: { manifest: Buffer; bundle: Buffer; sourceMap: Buffer };
  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), "deploy-controls-build-"));
    const io = captureIo(work);
    expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
    expect(await runCli(["build", "echo"], io)).toBe(0);
    const dist = join(work, "echo", "dist");
    bundle = {
      manifest: readFileSync(join(dist, "chatbot.json")),
      bundle: readFileSync(join(dist, "bot.js")),
      sourceMap: readFileSync(join(dist, "bot.js.map")),
    };
  });
  const deployFor = (addr: string, password: string) => composeDeployMessage(addr, { ...bundle, password });
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("a new account's deploy whose password does not log in is refused as such", async () => {
    const t = setup();
    const raw = deployFor(NEW, "not-the-password");
    t.relay.deposit(NEW, raw);
    await t.watcher.installArrived(NEW, bytes(raw));
    expect(t.events).toContainEqual({ event: "deploy.refused", account: NEW, reason: expect.stringMatching(/does not log in as newbot01@chat\.test/) });
    expect(t.relay.logins).toEqual([NEW]);
    expect(existsSync(hostPaths(t.dataDir).bot(NEW).dir)).toBe(false);
  });

  it("a deploy for another address is refused naming both, without any login", async () => {
    const t = setup();
    await t.watcher.installArrived(NEW, bytes(deployFor(BOT, PASSWORDS[BOT]!)));
    expect(t.events).toEqual([
      { event: "deploy.refused", account: NEW, reason: expect.stringContaining(`the deploy is for "${BOT}" but was put into the folder of ${NEW}`) },
    ]);
    expect(t.relay.logins).toEqual([]);
  });

  it("bytes that are no deploy (no password attachment) are refused without any login", async () => {
    const t = setup();
    await t.watcher.installArrived(NEW, bytes(`From: <${NEW}>\r\nTo: <${NEW}>\r\nSubject: hello\r\n\r\njust a mail\r\n`));
    expect(t.events).toEqual([{ event: "deploy.refused", account: NEW, reason: expect.stringMatching(/no password attachment/) }]);
    expect(t.relay.logins).toEqual([]);
  });

  it("a good deploy to a new account installs it and tells onRouted once", async () => {
    const t = setup();
    const raw = deployFor(NEW, PASSWORDS[NEW]!);
    t.relay.deposit(NEW, raw);
    await t.watcher.installArrived(NEW, bytes(raw));
    expect(t.events).toContainEqual(expect.objectContaining({ event: "install.deployed", bot: NEW, upgrade: false }));
    expect(isInstalledBot(t.dataDir, NEW)).toBe(true);
    expect(readFileSync(hostPaths(t.dataDir).bot(NEW).password, "utf8")).toBe(PASSWORDS[NEW]);
    expect(t.onRouted.mock.calls).toEqual([[NEW, NOW]]);
    expect(t.relay.folderOf(NEW).size).toBe(0);
  });

  describe("a dropped deploy not found in the folder after every look", () => {
    /** installArrived with its looks 1 ms apart (DEPLOY_INBOX_LOOK_DELAY_MS in production). */
    const arrive = (t: ReturnType<typeof setup>, account: string, raw: string) => t.watcher.installArrived(account, bytes(raw));

    it("gone from the folder (moved or deleted): logged and the author told to deploy again", async () => {
      const t = setup();
      await arrive(t, BOT, control(BOT, "pause"));
      expect(t.relay.logins).toEqual(Array(DEPLOY_INBOX_LOOKS).fill(BOT));
      expect(t.events).toContainEqual({ event: "deploy.missed", account: BOT, why: "gone from the folder" });
      expect(t.notices).toEqual([
        {
          account: BOT,
          kind: "refused",
          text: expect.stringMatching(/reached the host, but it was no longer in ChatbotInstall .* run 'chatbot deploy' again/),
        },
      ]);
    });

    it("a message without the deploy header (a mail moved into the folder): logged, nobody told", async () => {
      const t = setup();
      await arrive(t, BOT, `From: <${BOT}>\r\nSubject: hello\r\n\r\nX-Chatbot-Deploy: 1 (in the body, not a header)\r\n`);
      expect(t.events).toContainEqual({ event: "deploy.missed", account: BOT, why: "not a deploy message" });
      expect(t.notices).toEqual([]);
    });

    it("handled by the check of an earlier deploy (two appended at once): logged, nobody told", async () => {
      const t = setup();
      const pause = control(BOT, "pause");
      const resume = control(BOT, "resume");
      t.relay.deposit(BOT, pause);
      t.relay.deposit(BOT, resume);
      await t.watcher.installArrived(BOT, bytes(pause));
      expect(t.events.filter((e) => e.event === "install.paused" || e.event === "install.resumed").map((e) => e.event)).toEqual([
        "install.paused",
        "install.resumed",
      ]);
      await arrive(t, BOT, resume);
      expect(t.events).toContainEqual({ event: "deploy.missed", account: BOT, why: "handled with an earlier deploy" });
      expect(t.notices.filter((n) => n.kind === "refused")).toEqual([]);
    });
  });

  describe("an installed bot whose account password was changed", () => {
    const NEW_PASSWORD = "echo-bot-new-password";

    it("a deploy with the new password logs in with it, installs, and the host stores it", async () => {
      const t = setup();
      PASSWORDS[BOT] = NEW_PASSWORD;
      try {
        const raw = deployFor(BOT, NEW_PASSWORD);
        t.relay.deposit(BOT, raw);
        await t.watcher.installArrived(BOT, bytes(raw));
        expect(t.events).toContainEqual({ event: "account.password-changed", bot: BOT });
        expect(t.events).toContainEqual(expect.objectContaining({ event: "install.deployed", bot: BOT, upgrade: true }));
        expect(readFileSync(hostPaths(t.dataDir).bot(BOT).password, "utf8")).toBe(NEW_PASSWORD);
      } finally {
        PASSWORDS[BOT] = "echo-bot-password";
      }
    });

    it("a deploy with a password that does not log in either is refused saying neither does, and the stored one stays", async () => {
      const t = setup();
      PASSWORDS[BOT] = NEW_PASSWORD;
      try {
        const raw = deployFor(BOT, "a-guess-that-is-wrong");
        t.relay.deposit(BOT, raw);
        await t.watcher.installArrived(BOT, bytes(raw));
        expect(t.events).toContainEqual({
          event: "deploy.refused",
          account: BOT,
          reason: `E_DEPLOY: neither the host's stored password for ${BOT} nor the one in the deploy logs in: deploy with the account's current password`,
        });
        expect(readFileSync(hostPaths(t.dataDir).bot(BOT).password, "utf8")).toBe("echo-bot-password");
      } finally {
        PASSWORDS[BOT] = "echo-bot-password";
      }
    });
  });
});
