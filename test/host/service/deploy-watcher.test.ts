import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../host/cli/main.js";
import { composeDeployMessage } from "../../../host/deploy/deploy-message.js";
import { checkDue, DeployWatcher } from "../../../host/service/deploy-watcher.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { readBundleFolder } from "../../../host/service/installed-bots.js";
import { ACCOUNT_REFRESH_MS } from "../../../core/limits.js";
import { captureIo } from "../../support/cli-io.js";
import { fakeDeployRelay } from "../../support/fake-deploy-relay.js";

const BOT = "echobot01@chat.test";
const PASSWORD = "echo-bot-password";

/** BOT's ChatbotInstall folder on an in-memory relay. */
function fakeAccount() {
  const relay = fakeDeployRelay({ [BOT]: PASSWORD });
  return {
    folder: relay.folderOf(BOT),
    refused: relay.refused,
    logins: relay.logins,
    open: relay.open,
    deposit: (raw: string) => relay.deposit(BOT, raw),
  };
}

async function setup(hostConfig: Record<string, unknown> = {}) {
  const work = mkdtempSync(join(tmpdir(), "deploy-watcher-"));
  const data = join(work, "data");
  const io = captureIo(work);
  expect(await runCli(["host", "init", "--data-dir", data], io)).toBe(0);
  const configFile = join(data, "host.json");
  writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, "utf8")), ...hostConfig }));
  expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
  expect(await runCli(["build", "echo"], io)).toBe(0);
  writeFileSync(join(work, "pw"), PASSWORD);
  expect(await runCli(["host", "install", BOT, "echo", "--password-file", "pw", "--data-dir", data], io)).toBe(0);
  const config = await loadHostConfig(configFile, data);
  const account = fakeAccount();
  const lines: HostEvent[] = [];
  let now = 1_000_000;
  const clock = { now: () => now };
  const watcher = new DeployWatcher({ dataDir: data, config, clock, log: (line) => lines.push(line), openMailbox: account.open });
  /** Rebuild the echo bot with changes to its manifest and compose its deploy message. */
  const deployOf = async (changes: Record<string, unknown>, password = PASSWORD) => {
    const file = join(work, "echo", "chatbot.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), ...changes }, null, 2));
    expect(await runCli(["build", "echo"], captureIo(work))).toBe(0);
    const dist = join(work, "echo", "dist");
    return composeDeployMessage(BOT, {
      manifest: readFileSync(join(dist, "chatbot.json")),
      bundle: readFileSync(join(dist, "bot.js")),
      sourceMap: readFileSync(join(dist, "bot.js.map")),
      password,
    });
  };
  const installed = async () => (await readBundleFolder(join(data, "bots", BOT, "current"), config)).manifest.version;
  return { work, data, config, account, lines, watcher, deployOf, installed, advance: (ms: number) => (now += ms) };
}

describe("deploy watcher", () => {
  it("installs a deploy from the account's folder, keeps the version before, and deletes the message", async () => {
    const t = await setup();
    t.account.deposit(await t.deployOf({ version: "1.1.0" }));
    const outcomes = await t.watcher.checkAccount(BOT);
    expect(outcomes).toMatchObject([{ status: "installed", version: "1.1.0", author: "Your Name <you@example.org>", upgrade: true }]);
    expect(await t.installed()).toBe("1.1.0");
    expect(t.account.folder.size).toBe(0);
    expect(t.lines).toContainEqual(expect.objectContaining({ event: "install.deployed", bot: BOT, version: "1.1.0", author: "Your Name <you@example.org>" }));
    expect((await readBundleFolder(join(t.data, "bots", BOT, "previous"), t.config)).manifest.version).toBe("1.0.0");
    // The password travels in the message but never lands in the bundle folder.
    expect(() => readFileSync(join(t.data, "bots", BOT, "current", "password"))).toThrow();
  });

  it("a tampered bundle (bot.js and the subject changed, the manifest's sha256 not) is refused and moved aside", async () => {
    const t = await setup();
    const raw = await t.deployOf({ version: "1.1.0" });
    const bundle = readFileSync(join(t.work, "echo", "dist", "bot.js"));
    const evil = Buffer.from(bundle.toString().replace(/$/, "\n;globalThis.evil = 1;"));
    const b64 = (d: Buffer) =>
      d
        .toString("base64")
        .match(/.{1,76}/g)!
        .join("\r\n");
    const sha = (d: Buffer) => createHash("sha256").update(d).digest("hex");
    const tampered = raw.replace(b64(bundle), b64(evil)).replace(sha(bundle), sha(evil));
    t.account.deposit(tampered);
    const outcomes = await t.watcher.checkAccount(BOT);
    expect(outcomes).toMatchObject([{ status: "refused", reason: expect.stringMatching(/E_BUNDLE: .*does not match the sha256 in its manifest/) }]);
    expect(t.account.refused).toEqual([{ account: BOT, uid: 1 }]);
    expect(await t.installed()).toBe("1.0.0");
    expect(t.lines).toContainEqual(expect.objectContaining({ event: "install.refused", bot: BOT, reason: expect.stringMatching(/sha256/) }));
  });

  it("a manifest over the host's ceilings is refused with the limit it asks for", async () => {
    const t = await setup({ ceilings: { event: { memoryBytes: 64 * 1024 * 1024 } } });
    t.account.deposit(await t.deployOf({ version: "2.0.0", limits: { memoryBytes: 128 * 1024 * 1024 } }));
    const outcomes = await t.watcher.checkAccount(BOT);
    expect(outcomes).toMatchObject([{ status: "refused", reason: expect.stringMatching(/limits\.memoryBytes.*above the relay's ceiling/) }]);
    expect(await t.installed()).toBe("1.0.0");
  });

  it("a deploy over the relay's deploys a day is refused with when to try again; the day after it installs", async () => {
    // (The watcher's clock starts in 1970; setup()'s install, on the real clock, is not in its day.)
    const t = await setup({ quotas: { deploysPerDay: 2 } });
    for (const version of ["1.1.0", "1.2.0"]) {
      t.account.deposit(await t.deployOf({ version }));
      expect(await t.watcher.checkAccount(BOT)).toMatchObject([{ status: "installed" }]);
      t.advance(60_000);
    }
    t.account.deposit(await t.deployOf({ version: "1.3.0" }));
    expect(await t.watcher.checkAccount(BOT)).toMatchObject([
      { status: "refused", reason: expect.stringMatching(/quotas\.deploysPerDay 2\); deploy again after/) },
    ]);
    expect(await t.installed()).toBe("1.2.0");
    t.advance(24 * 60 * 60 * 1000);
    t.account.deposit(await t.deployOf({ version: "1.3.0" }));
    expect(await t.watcher.checkAccount(BOT)).toMatchObject([{ status: "installed" }]);
  });

  it("a deploy's staging folder inside the bot's folder is counted once against botDiskBytes", async () => {
    const t = await setup();
    const botDir = join(t.data, "bots", BOT);
    const { treeBytes } = await import("../../../host/service/relay-quotas.js");
    // What the bot would hold after an upgrade to the same-size bundle: everything but previous/, plus the new bundle.
    const quota = (await treeBytes(botDir)) + (await treeBytes(join(botDir, "current"))) + 4096;
    const config = { ...t.config, quotas: { ...t.config.quotas, botDiskBytes: quota } };
    const watcher = new DeployWatcher({ dataDir: t.data, config, clock: { now: () => Date.now() }, log: () => undefined, openMailbox: t.account.open });
    t.account.deposit(await t.deployOf({ version: "1.1.0" }));
    expect(await watcher.checkAccount(BOT)).toMatchObject([{ status: "installed" }]);
  });

  it("a deploy that does not carry the account's password is refused (someone else got mail into the folder)", async () => {
    const t = await setup();
    t.account.deposit(await t.deployOf({ version: "6.6.6" }, "not-the-password"));
    expect(await t.watcher.checkAccount(BOT)).toMatchObject([{ status: "refused", reason: expect.stringMatching(/password/) }]);
    expect(await t.installed()).toBe("1.0.0");
  });

  it("the same bundle again is not installed twice (the previous version stays)", async () => {
    const t = await setup();
    const raw = await t.deployOf({ version: "1.1.0" });
    t.account.deposit(raw);
    t.account.deposit(raw);
    expect((await t.watcher.checkAccount(BOT)).map((o) => o.status)).toEqual(["installed", "unchanged"]);
    expect((await readBundleFolder(join(t.data, "bots", BOT, "previous"), t.config)).manifest.version).toBe("1.0.0");
  });

  it("checkDue logs in every pollSeconds, and account.refreshed once a day", async () => {
    const t = await setup({ imap: { pollSeconds: 60 } });
    await t.watcher.checkDue();
    await t.watcher.checkDue(); // not due yet
    expect(t.account.logins).toHaveLength(1);
    t.advance(60_000);
    await t.watcher.checkDue();
    expect(t.account.logins).toHaveLength(2);
    expect(t.lines.filter((l) => l.event === "account.refreshed")).toHaveLength(1);
    t.advance(ACCOUNT_REFRESH_MS);
    await t.watcher.checkDue();
    expect(t.lines.filter((l) => l.event === "account.refreshed")).toHaveLength(2);
  });

  it("with polling off, the daily login still happens", () => {
    expect(checkDue({}, 0, 0)).toBe(true);
    expect(checkDue({ lastCheckAt: 0 }, ACCOUNT_REFRESH_MS - 1, 0)).toBe(false);
    expect(checkDue({ lastCheckAt: 0 }, ACCOUNT_REFRESH_MS, 0)).toBe(true);
    expect(checkDue({ lastCheckAt: 0 }, 299_999, 300)).toBe(false);
    expect(checkDue({ lastCheckAt: 0 }, 300_000, 300)).toBe(true);
  });

  it("a refused login is logged as account.error and tried again at the next poll", async () => {
    const t = await setup({ imap: { pollSeconds: 60 } });
    writeFileSync(join(t.data, "bots", BOT, "password"), "wrong-password");
    await t.watcher.checkDue();
    expect(t.lines).toContainEqual(expect.objectContaining({ event: "account.error", bot: BOT }));
    writeFileSync(join(t.data, "bots", BOT, "password"), PASSWORD);
    await t.watcher.checkDue();
    expect(t.account.logins).toHaveLength(1); // not due yet: the refused login counts as the look
    t.advance(60_000);
    await t.watcher.checkDue();
    expect(t.account.logins).toHaveLength(2);
    expect(t.lines.filter((l) => l.event === "account.error")).toHaveLength(1);
  });
});

describe("host.json imap", () => {
  it("defaults to the relay's Dovecot on loopback with STARTTLS, every 300 s; unknown keys and modes are refused", async () => {
    const { parseHostConfig } = await import("../../../host/service/host-config.js");
    expect(parseHostConfig({}, "host.json").imap).toEqual({ host: "127.0.0.1", port: 143, security: "starttls", allowSelfSigned: true, pollSeconds: 300 });
    expect(() => parseHostConfig({ imap: { secure: true } }, "host.json")).toThrow(/"imap.secure" is not a known setting/);
    expect(() => parseHostConfig({ imap: { security: "ssl" } }, "host.json")).toThrow(/"imap.security" must be one of plain, starttls, tls/);
  });
});
