import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { loadInstalledBot } from "../../host/service/installed-bots.js";
import { systemClock } from "../../core/clock.js";

async function setup() {
  const work = mkdtempSync(join(tmpdir(), "host-install-"));
  const data = join(work, "data");
  const io = captureIo(work);
  expect(await runCli(["host", "init", "--data-dir", data, "--smtp-port", "10587"], io)).toBe(0);
  expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
  expect(await runCli(["build", "echo"], io)).toBe(0);
  writeFileSync(join(work, "pw"), "a-good-password\n");
  return { work, data, io };
}

describe("cli host init / install", () => {
  it("init writes a private config; a second init without --force refuses", async () => {
    const { data, work } = await setup();
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, "host.json")).mode & 0o777).toBe(0o600);
    expect((await loadHostConfig(join(data, "host.json"), data)).smtp.port).toBe(10587);
    const again = captureIo(work);
    expect(await runCli(["host", "init", "--data-dir", data], again)).toBe(64);
    expect(again.err).toMatch(/--force/);
  });

  it("install puts the built bot under the data dir, shows the author, and the service can load it", async () => {
    const { work, data } = await setup();
    const io = captureIo(work);
    expect(await runCli(["host", "install", "echobot01@chat.test", "echo", "--password-file", "pw", "--name", "Echo Bot", "--data-dir", data], io)).toBe(0);
    expect(io.out).toMatch(/installed echo 1\.0\.0 for echobot01@chat\.test/);
    expect(io.out).toMatch(/author\s+Your Name <you@example\.org>/);
    const bot = join(data, "bots", "echobot01@chat.test");
    expect(statSync(join(bot, "password")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(bot, "password"), "utf8")).toBe("a-good-password");
    const config = await loadHostConfig(join(data, "host.json"), data);
    const loaded = await loadInstalledBot(data, "echobot01@chat.test", config, systemClock);
    expect(loaded?.settings).toMatchObject({ name: "Echo Bot", enabled: true });
    expect(loaded?.bundle.code.length).toBeGreaterThan(1000);
    expect(loaded?.limits.cpuMsPerEvent).toBe(config.ceilings.event.cpuMsPerEvent);
  });

  it("upgrade keeps the previous version and rollback brings it back", async () => {
    const { work, data } = await setup();
    const io = captureIo(work);
    await runCli(["host", "install", "e@chat.test", "echo", "--password-file", "pw", "--data-dir", data], io);
    const manifestFile = join(work, "echo", "chatbot.json");
    writeFileSync(manifestFile, readFileSync(manifestFile, "utf8").replace('"version": "1.0.0"', '"version": "1.1.0"'));
    await runCli(["build", "echo"], io);
    const upgrade = captureIo(work);
    expect(await runCli(["host", "install", "e@chat.test", "echo", "--data-dir", data], upgrade)).toBe(0);
    expect(upgrade.out).toMatch(/echo 1\.1\.0 .*upgrade/);
    const rollback = captureIo(work);
    expect(await runCli(["host", "install", "e@chat.test", "--rollback", "--data-dir", data], rollback)).toBe(0);
    expect(rollback.out).toMatch(/rolled back e@chat\.test to echo 1\.0\.0/);
  });

  it("an upgrade keeps the operator's settings: a disabled bot stays disabled, with its reason", async () => {
    const { work, data } = await setup();
    const io = captureIo(work);
    expect(await runCli(["host", "install", "e@chat.test", "echo", "--password-file", "pw", "--data-dir", data], io)).toBe(0);
    expect(await runCli(["host", "bots", "disable", "e@chat.test", "--reason", "reported for spam", "--data-dir", data], io)).toBe(0);
    const manifestFile = join(work, "echo", "chatbot.json");
    writeFileSync(manifestFile, readFileSync(manifestFile, "utf8").replace('"version": "1.0.0"', '"version": "1.1.0"'));
    await runCli(["build", "echo"], io);
    expect(await runCli(["host", "install", "e@chat.test", "echo", "--data-dir", data], io)).toBe(0);
    const settings = JSON.parse(readFileSync(join(data, "bots", "e@chat.test", "bot.json"), "utf8")) as Record<string, unknown>;
    expect(settings).toMatchObject({ enabled: false, disabledReason: "reported for spam" });
  });

  it("a tampered bundle is refused; a new bot without a password is refused", async () => {
    const { work, data } = await setup();
    writeFileSync(join(work, "echo", "dist", "bot.js"), "/* tampered */");
    const tampered = captureIo(work);
    expect(await runCli(["host", "install", "e@chat.test", "echo", "--password-file", "pw", "--data-dir", data], tampered)).toBe(65);
    expect(tampered.err).toMatch(/sha256/);
    const { work: w2, data: d2 } = await setup();
    const nopw = captureIo(w2);
    expect(await runCli(["host", "install", "e@chat.test", "echo", "--data-dir", d2], nopw)).toBe(64);
    expect(nopw.err).toMatch(/--password-file/);
  });
});
