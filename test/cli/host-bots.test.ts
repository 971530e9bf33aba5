import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { Spool } from "../../host/spool/spool.js";
import { captureIo } from "../support/cli-io.js";

const BOT = "echobot01@chat.test";
const OTHER = "other@chat.test";
const ORIGIN = "https://api.example.org";
const NOW = "2025-01-31T12:00:00.000Z";
const at = (time: string) => `2025-01-31T${time}:00.000Z`;

/** The log the tests read: times around NOW, in the order the service would have written them. */
const LOG = [
  { at: "2025-01-29T12:00:00.000Z", event: "bot.event", bot: BOT, from: "old@x.test", status: "ok", cpuMs: 100, sent: 5 },
  { at: at("08:00"), event: "bot.deferred", bot: BOT, from: "u@x.test", reason: "bot CPU budget botCpuMsPerHour used up", until: 0 },
  { at: at("09:00"), event: "bot.event", bot: BOT, from: "u@x.test", status: "ok", cpuMs: 10, wallMs: 20, memoryBytes: 1, sent: 2 },
  { at: Date.parse(at("11:10")), event: "bot.tick", bot: BOT, status: "ok", cpuMs: 1, sent: 0 },
  { at: at("11:20"), event: "spool.retry", bot: BOT, entry: "1", attempts: 1, nextAttemptAt: 0, error: "smtp down" },
  { at: at("11:30"), event: "bot.event", bot: BOT, from: "alice@x.test", status: "ok", cpuMs: 4, wallMs: 8, memoryBytes: 1, sent: 1 },
  { at: at("11:40"), event: "mail.dropped", bot: BOT, reason: "not encrypted" },
  { at: at("11:45"), event: "bot.refused", bot: BOT, from: "bob@x.test", reason: "per-user limit mailsPerHour (60/60)", notified: true },
  { at: at("11:46"), event: "bot.refused", bot: BOT, from: "carol@x.test", reason: "consent: /stop", notified: true },
  { at: at("11:47"), event: "bot.refused", bot: BOT, from: "erin@x.test", reason: "report: it sends me spam", notified: true },
  {
    at: at("11:50"),
    event: "bot.event",
    bot: BOT,
    from: "dave@x.test",
    status: "bot-error",
    cpuMs: 6,
    wallMs: 8,
    memoryBytes: 1,
    sent: 0,
    error: "E_BOT",
    message: "boom",
  },
  { at: at("11:55"), event: "bot.event", bot: OTHER, from: "erin@x.test", status: "ok", cpuMs: 2, sent: 1 },
  { at: at("12:30"), event: "bot.event", bot: BOT, from: "late@x.test", status: "ok", cpuMs: 50, sent: 9 },
];

async function setup() {
  const work = mkdtempSync(join(tmpdir(), "host-bots-"));
  const data = join(work, "data");
  const io = captureIo(work);
  expect(await runCli(["host", "init", "--data-dir", data], io)).toBe(0);
  expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
  const manifestFile = join(work, "echo", "chatbot.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, schedule: "hourly", origins: [ORIGIN] }, null, 2));
  expect(await runCli(["build", "echo"], io)).toBe(0);
  writeFileSync(join(work, "pw"), "a-good-password\n");
  for (const addr of [BOT, OTHER]) expect(await runCli(["host", "install", addr, "echo", "--password-file", "pw", "--data-dir", data], io)).toBe(0);
  mkdirSync(join(data, "logs"), { recursive: true });
  writeFileSync(join(data, "logs", "host.jsonl"), `${LOG.map((line) => JSON.stringify(line)).join("\n")}\nnot json at all\n`);
  return { work, data };
}

/** Run a command; return its exit code and output. */
async function cli(work: string, args: string[]) {
  const io = captureIo(work);
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

interface Report {
  now: string;
  log: { file: string; from: string | null; complete: boolean };
  bots: Array<{
    address: string;
    name: string;
    enabled: boolean;
    disabledReason: string | null;
    version: string;
    schedule: string;
    author: { name: string; contact: string };
    origins: Array<{ origin: string; requested: boolean; approved: string | null }>;
    usage: {
      lastHour: Record<string, number>;
      lastDay: Record<string, number>;
      lastEventAt: string | null;
      lastError: { at: string; event: string; detail: string } | null;
    };
    spool: { waiting: number; dead: number; lastDeadReason: string | null };
  }>;
}

async function report(work: string, data: string): Promise<Report> {
  const { code, out, err } = await cli(work, ["host", "bots", "--json", "--now", NOW, "--data-dir", data]);
  expect(err).toBe("");
  expect(code).toBe(0);
  return JSON.parse(out) as Report;
}

describe("cli host bots / host logs", () => {
  it("host bots --json shows version, author contact, origins, and usage counted back from --now (last hour and last day apart), and why the last dead letter was given up", async () => {
    const { work, data } = await setup();
    const spool = new Spool(join(data, "spool"), { now: () => 1 });
    await spool.write(BOT, Buffer.from("waiting"), 1000);
    await spool.deadLetter(await spool.write(BOT, Buffer.from("dead"), 1000), "[E_RUNNER] after 2 attempts: E_RUNNER: runner exited (1)");
    const status = await report(work, data);
    expect(status.now).toBe(NOW);
    expect(status.log).toMatchObject({ file: join(data, "logs", "host.jsonl"), from: "2025-01-29T12:00:00.000Z", complete: true });
    expect(status.bots.map((b) => b.address)).toEqual([BOT, OTHER]);
    const bot = status.bots[0]!;
    expect(bot).toMatchObject({ name: "echo", enabled: true, version: "1.0.0", schedule: "hourly", author: { name: "Your Name", contact: "you@example.org" } });
    expect(bot.origins).toEqual([{ origin: ORIGIN, requested: true, approved: null }]);
    // 11:10 tick, 11:30 and 11:50 events; the 12:30 line is after --now, the 09:00 one only in the day.
    expect(bot.usage.lastHour).toEqual({ events: 3, failed: 1, cpuMs: 11, sent: 1, dropped: 1, refused: 1, deferred: 0, reported: 1 });
    expect(bot.usage.lastDay).toEqual({ events: 4, failed: 1, cpuMs: 21, sent: 3, dropped: 1, refused: 1, deferred: 1, reported: 1 });
    expect(bot.usage.lastEventAt).toBe(at("11:50"));
    expect(bot.usage.lastError).toEqual({ at: at("11:50"), event: "bot.event", detail: "bot-error E_BOT: boom" });
    expect(bot.spool).toEqual({ waiting: 1, dead: 1, lastDeadReason: "[E_RUNNER] after 2 attempts: E_RUNNER: runner exited (1)" });
    expect(status.bots[1]!.usage.lastHour).toMatchObject({ events: 1, cpuMs: 2, sent: 1 });
    expect(status.bots[1]!.spool).toEqual({ waiting: 0, dead: 0, lastDeadReason: null });
    const { out } = await cli(work, ["host", "bots", "--now", NOW, "--data-dir", data]);
    expect(out).toMatch(/spool\s+waiting 1, dead letters 1 \(last: \[E_RUNNER\] after 2 attempts: E_RUNNER: runner exited \(1\)\)/);
  });

  it("host bots prints one block per bot with the author and the command that approves a waiting origin", async () => {
    const { work, data } = await setup();
    const { code, out } = await cli(work, ["host", "bots", "--now", NOW, "--data-dir", data]);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^${BOT}  enabled$`, "m"));
    expect(out).toMatch(/author\s+Your Name <you@example\.org>/);
    expect(out).toMatch(/bot\s+echo 1\.0\.0, schedule hourly/);
    expect(out).toContain(`waiting: chatbot host bots approve-origin ${BOT} ${ORIGIN}`);
    expect(out).toMatch(/last hour\s+events 3 \(failed 1\), CPU 11 ms, sent 1, dropped 1, refused 1, deferred 0, reported 1/);
    expect(out).toMatch(/spool\s+waiting 0, dead letters 0/);
    expect(out).toMatch(/last error\s+2025-01-31T11:50:00\.000Z bot\.event: bot-error E_BOT: boom/);
  });

  it("host bots shows the host's last IMAP login as each bot, and warns when the account nears chatmail's 90-day expiry", async () => {
    const { work, data } = await setup();
    const now = Date.parse(NOW);
    const day = 24 * 60 * 60 * 1000;
    writeFileSync(join(data, "bots", BOT, "account.json"), JSON.stringify({ lastCheckAt: now - 3 * 60_000, lastLoginAt: now - 3 * 60_000 }));
    writeFileSync(join(data, "bots", OTHER, "account.json"), JSON.stringify({ lastCheckAt: now - 60_000, lastLoginAt: now - 80 * day }));
    const status = await report(work, data);
    expect((status.bots[0] as unknown as { account: unknown }).account).toEqual({
      lastLoginAt: new Date(now - 3 * 60_000).toISOString(),
      lastCheckAt: new Date(now - 3 * 60_000).toISOString(),
    });
    const { out } = await cli(work, ["host", "bots", "--now", NOW, "--data-dir", data]);
    const blocks = out.split(/\n(?=\S)/);
    expect(blocks[0]).toMatch(/account\s+last IMAP login 2025-01-31T11:57:00\.000Z$/);
    expect(blocks[1]).toMatch(/account\s+last IMAP login .* WARNING: 80 days without a login; chatmail deletes the account after 90 \(10 left\)/);
  });

  it("host bots says when the host has not logged in as a bot yet", async () => {
    const { work, data } = await setup();
    const { out } = await cli(work, ["host", "bots", "--now", NOW, "--data-dir", data]);
    expect(out).toMatch(/account\s+no IMAP login yet/);
  });

  it("host bots: --now that is not a time is a usage error", async () => {
    const { work, data } = await setup();
    const { code, err } = await cli(work, ["host", "bots", "--now", "yesterday", "--data-dir", data]);
    expect(code).toBe(64);
    expect(err).toMatch(/--now must be an ISO 8601 time/);
  });

  it("disable and enable flip bot.json, and host bots shows it", async () => {
    const { work, data } = await setup();
    const botJson = () => JSON.parse(readFileSync(join(data, "bots", BOT, "bot.json"), "utf8")) as Record<string, unknown>;
    const before = botJson();
    const off = await cli(work, ["host", "bots", "disable", BOT, "--data-dir", data]);
    expect(off.code).toBe(0);
    expect(off.out).toBe(`disabled ${BOT}\n`);
    expect(botJson()).toEqual({ ...before, enabled: false });
    expect((await report(work, data)).bots[0]!.enabled).toBe(false);
    expect((await cli(work, ["host", "bots", "--data-dir", data])).out).toMatch(new RegExp(`^${BOT}  disabled$`, "m"));
    expect((await cli(work, ["host", "bots", "disable", BOT, "--data-dir", data])).out).toBe(`${BOT} was already disabled\n`);
    expect((await cli(work, ["host", "bots", "enable", BOT.toUpperCase(), "--data-dir", data])).code).toBe(0);
    expect(botJson().enabled).toBe(true);
    expect((await report(work, data)).bots[0]!.enabled).toBe(true);
  });

  it("disable --reason keeps why beside the setting and host bots shows it; enable clears it; a reason that is not one printable line is refused", async () => {
    const { work, data } = await setup();
    const botJson = () => JSON.parse(readFileSync(join(data, "bots", BOT, "bot.json"), "utf8")) as Record<string, unknown>;
    expect((await cli(work, ["host", "bots", "disable", BOT, "--reason", "reported for spam", "--data-dir", data])).code).toBe(0);
    expect(botJson()).toMatchObject({ enabled: false, disabledReason: "reported for spam" });
    expect((await report(work, data)).bots[0]).toMatchObject({ enabled: false, disabledReason: "reported for spam" });
    expect((await cli(work, ["host", "bots", "--data-dir", data])).out).toMatch(new RegExp(`^${BOT}  disabled \\(reported for spam\\)$`, "m"));
    expect((await cli(work, ["host", "bots", "enable", BOT, "--data-dir", data])).code).toBe(0);
    expect(botJson().disabledReason).toBeUndefined();
    expect((await report(work, data)).bots[0]!.disabledReason).toBeNull();
    for (const bad of ["two\nlines", "", "x".repeat(501)]) {
      const refused = await cli(work, ["host", "bots", "disable", BOT, "--reason", bad, "--data-dir", data]);
      expect(refused.code, JSON.stringify(bad)).toBe(64);
      expect(refused.err).toMatch(/--reason must be one line of 1-500 printable characters/);
    }
    expect(botJson().enabled).toBe(true);
    expect((await cli(work, ["host", "bots", "enable", BOT, "--reason", "x", "--data-dir", data])).code).toBe(64);
  });

  it("enable of an address where no bot is installed is refused as not found", async () => {
    const { work, data } = await setup();
    const { code, err } = await cli(work, ["host", "bots", "enable", "nobody@chat.test", "--data-dir", data]);
    expect(code).toBe(66);
    expect(err).toMatch(/no bot is installed at nobody@chat\.test/);
  });

  it("approve-origin refuses an origin the manifest does not ask for, naming what it does ask for", async () => {
    const { work, data } = await setup();
    const { code, err } = await cli(work, ["host", "bots", "approve-origin", BOT, "https://evil.example.org", "--data-dir", data]);
    expect(code).toBe(64);
    expect(err).toContain(`does not ask for https://evil.example.org in its manifest (it asks for ${ORIGIN})`);
    expect(JSON.parse(readFileSync(join(data, "bots", BOT, "bot.json"), "utf8")).approvedOrigins).toEqual([]);
  });

  it("approve-origin refuses a malformed origin as the manifest check does (path, trailing slash, scheme)", async () => {
    const { work, data } = await setup();
    for (const [origin, fault] of [
      [`${ORIGIN}/`, /without path, query or trailing slash/],
      [`${ORIGIN}/v1`, /without path/],
      ["ftp://api.example.org", /must use https/],
      ["api.example.org", /must be an origin like/],
    ] as const) {
      const { code, err } = await cli(work, ["host", "bots", "approve-origin", BOT, origin, "--data-dir", data]);
      expect(code).toBe(64);
      expect(err).toMatch(fault);
    }
    const global = await cli(work, ["host", "bots", "approve-origin", "--global", "http://example.org", "--data-dir", data]);
    expect(global.code).toBe(64);
    expect(global.err).toMatch(/http only for localhost/);
  });

  it("approve-origin writes the asked-for origin to bot.json and host bots shows it approved; revoke-origin takes it back", async () => {
    const { work, data } = await setup();
    const approve = await cli(work, ["host", "bots", "approve-origin", BOT, ORIGIN, "--data-dir", data]);
    expect(approve.code).toBe(0);
    expect(approve.out).toBe(`approved ${ORIGIN} for ${BOT}\n`);
    expect(JSON.parse(readFileSync(join(data, "bots", BOT, "bot.json"), "utf8")).approvedOrigins).toEqual([ORIGIN]);
    expect((await report(work, data)).bots[0]!.origins).toEqual([{ origin: ORIGIN, requested: true, approved: "bot" }]);
    expect((await cli(work, ["host", "bots", "approve-origin", BOT, ORIGIN, "--data-dir", data])).out).toMatch(/already approved/);
    const revoke = await cli(work, ["host", "bots", "revoke-origin", BOT, ORIGIN, "--data-dir", data]);
    expect(revoke.out).toBe(`revoked ${ORIGIN} for ${BOT}\n`);
    expect((await report(work, data)).bots[0]!.origins).toEqual([{ origin: ORIGIN, requested: true, approved: null }]);
  });

  it("approve-origin --global writes host.json, keeps its other settings, and the service's parser accepts it", async () => {
    const { work, data } = await setup();
    const before = JSON.parse(readFileSync(join(data, "host.json"), "utf8")) as Record<string, unknown>;
    const approve = await cli(work, ["host", "bots", "approve-origin", "--global", ORIGIN, "--data-dir", data]);
    expect(approve.code).toBe(0);
    expect(approve.out).toMatch(/restart 'chatbot host serve'/);
    expect(JSON.parse(readFileSync(join(data, "host.json"), "utf8"))).toEqual({ ...before, approvedOrigins: [ORIGIN] });
    expect((await loadHostConfig(join(data, "host.json"), data)).approvedOrigins).toEqual([ORIGIN]);
    expect((await report(work, data)).bots[0]!.origins).toEqual([{ origin: ORIGIN, requested: true, approved: "global" }]);
    const revoke = await cli(work, ["host", "bots", "revoke-origin", "--global", ORIGIN, "--data-dir", data]);
    expect(revoke.code).toBe(0);
    expect(JSON.parse(readFileSync(join(data, "host.json"), "utf8")).approvedOrigins).toEqual([]);
  });

  it("approve-origin --global with an address as well is a usage error", async () => {
    const { work, data } = await setup();
    const { code, err } = await cli(work, ["host", "bots", "approve-origin", "--global", BOT, ORIGIN, "--data-dir", data]);
    expect(code).toBe(64);
    expect(err).toMatch(/give the origin only/);
  });

  it("host logs BOT -n 2 shows the last two lines of that bot only, one readable line each", async () => {
    const { work, data } = await setup();
    const { code, out } = await cli(work, ["host", "logs", BOT, "-n", "2", "--data-dir", data]);
    expect(code).toBe(0);
    expect(out).toBe(
      `${at("11:50")}  ${BOT}  bot.event  bot-error  6 ms  from dave@x.test  error E_BOT: boom\n` +
        `${at("12:30")}  ${BOT}  bot.event  ok  50 ms  from late@x.test\n`,
    );
    const other = await cli(work, ["host", "logs", OTHER, "--data-dir", data]);
    expect(other.out.trim().split("\n")).toEqual([`${at("11:55")}  ${OTHER}  bot.event  ok  2 ms  from erin@x.test`]);
  });

  it("host logs --json prints the log's lines as they are; without a bot it shows every bot", async () => {
    const { work, data } = await setup();
    const { code, out } = await cli(work, ["host", "logs", "--json", "-n", "3", "--data-dir", data]);
    expect(code).toBe(0);
    expect(out).toBe(
      `${LOG.slice(-3)
        .map((line) => JSON.stringify(line))
        .join("\n")}\n`,
    );
    const all = await cli(work, ["host", "logs", "--data-dir", data]);
    expect(all.out.trim().split("\n")).toHaveLength(LOG.length); // the line that is not JSON is skipped
  });

  it("host logs: -n that is not a number is a usage error", async () => {
    const { work, data } = await setup();
    const { code, err } = await cli(work, ["host", "logs", "-n", "many", "--data-dir", data]);
    expect(code).toBe(64);
    expect(err).toMatch(/-n must be a whole number/);
  });

  it("--help of every new command prints its usage, options and an example", async () => {
    const work = mkdtempSync(join(tmpdir(), "host-bots-help-"));
    for (const path of [
      ["host", "bots"],
      ["host", "bots", "enable"],
      ["host", "bots", "disable"],
      ["host", "bots", "approve-origin"],
      ["host", "bots", "revoke-origin"],
      ["host", "logs"],
    ]) {
      const { code, out } = await cli(work, [...path, "--help"]);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: chatbot ${path.join(" ")}`);
      expect(out).toMatch(/--data-dir DIR/);
      expect(out).toMatch(/Example:\n {2}chatbot /);
    }
    const top = await cli(work, ["--help"]);
    for (const name of ["host bots ", "host bots enable", "host bots disable", "host bots approve-origin", "host bots revoke-origin", "host logs"])
      expect(top.out).toContain(name);
  });
});
