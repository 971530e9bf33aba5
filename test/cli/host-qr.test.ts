import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";

const dataDir = () => mkdtempSync(join(tmpdir(), "host-qr-"));

describe("cli host qr", () => {
  it("prints the bot's invite link, fingerprint and a terminal QR code; the key and tokens stay private", async () => {
    const dir = dataDir();
    const io = captureIo(dir);
    expect(await runCli(["host", "qr", "echobot01@chat.test", "--name", "Echo Bot", "--data-dir", dir], io)).toBe(0);
    expect(io.out).toMatch(/▀|▄|█/);
    expect(io.out).toMatch(/https:\/\/i\.delta\.chat\/#[0-9A-F]{40}&v=3&i=[\w-]{24}&s=[\w-]{24}&a=echobot01%40chat\.test&n=Echo%20Bot/);
    const bot = join(dir, "bots", "echobot01@chat.test");
    expect(statSync(bot).mode & 0o777).toBe(0o700);
    for (const file of ["key.asc", "securejoin.json", "profile.json"]) expect(statSync(join(bot, file)).mode & 0o777).toBe(0o600);
  });

  it("the same bot keeps its key, tokens and name between calls", async () => {
    const dir = dataDir();
    const first = captureIo(dir);
    await runCli(["host", "qr", "b@x.org", "--name", "Bee", "--json", "--data-dir", dir], first);
    const second = captureIo(dir);
    await runCli(["host", "qr", "b@x.org", "--json", "--data-dir", dir], second);
    expect(JSON.parse(second.out)).toEqual(JSON.parse(first.out));
    expect(JSON.parse(first.out).link).toMatch(/&n=Bee$/);
  });

  it("--group creates the bot's group once and prints a group invite", async () => {
    const dir = dataDir();
    const a = captureIo(dir);
    await runCli(["host", "qr", "b@x.org", "--group", "Book Club", "--json", "--data-dir", dir], a);
    const b = captureIo(dir);
    await runCli(["host", "qr", "b@x.org", "--group", "Book Club", "--json", "--data-dir", dir], b);
    const first = JSON.parse(a.out) as { link: string; groupId: string };
    expect(first.link).toMatch(new RegExp(`&g=Book%20Club&x=${first.groupId}$`));
    expect(JSON.parse(b.out).groupId).toBe(first.groupId);
  });

  it("--png writes a PNG image", async () => {
    const dir = dataDir();
    await runCli(["host", "qr", "b@x.org", "--png", "qr.png", "--data-dir", dir], captureIo(dir));
    expect(readFileSync(join(dir, "qr.png")).subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  it("a missing or malformed address is a usage error that says what to give", async () => {
    const dir = dataDir();
    const missing = captureIo(dir);
    expect(await runCli(["host", "qr", "--data-dir", dir], missing)).toBe(64);
    expect(missing.err).toMatch(/give the bot's address/);
    const bad = captureIo(dir);
    expect(await runCli(["host", "qr", "not-an-address", "--data-dir", dir], bad)).toBe(64);
    expect(await runCli(["host", "qr", "--help"], captureIo(dir))).toBe(0);
  });
});
