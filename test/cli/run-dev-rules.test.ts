// `chatbot run` and `chatbot dev` go through the relay's event pipeline (host/service/event-pipeline.ts):
// consent keeps only actions into chats that wrote to the bot (--known-chat for earlier ones),
// /stop is the host's, and the manifest's per-user limits refuse as a relay would.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { EXIT } from "../../host/cli/command.js";
import { devLoop } from "../../host/cli/commands/dev.js";
import { Executor } from "../../host/executor/executor.js";
import { STOP_TEXT } from "../../host/policy/consent.js";
import { captureIo } from "../support/cli-io.js";

const SOURCE = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    await bot.reply("hi");
    await bot.send("bob@example.org", "tell Bob");
  },
  async tick(bot) {
    await bot.send("bob@example.org", "tick for Bob");
  },
});
`;

const mail = (text: string) =>
  [
    "From: Alice <alice@example.org>",
    "To: bot@example.net",
    "Date: Sun, 23 Nov 2025 10:00:00 +0000",
    "Message-ID: <rules-1@example.org>",
    "Content-Type: text/plain; charset=utf-8",
    "",
    text,
    "",
  ].join("\r\n");

let cwd: string;
let bot: string;
// One sandbox runner for the file's commands (a runner's start costs ~0.6 s of CPU; run-dev.test.ts
// covers a command that starts and stops its own).
let shared: Executor;

/** An io whose commands run their events in the file's shared sandbox. */
function capture() {
  const io = captureIo(cwd);
  io.executor = shared;
  return io;
}

beforeAll(() => {
  shared = new Executor();
});

afterAll(async () => {
  await shared.close();
});

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "chatbot-rules-"));
  bot = join(cwd, "bot");
  expect(await runCli(["new", "bot"], captureIo(cwd))).toBe(EXIT.ok);
  await writeFile(join(bot, "bot.ts"), SOURCE);
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; result: Record<string, unknown> }> {
  const io = capture();
  const code = await runCli(["run", "bot", ...args], io);
  return { code, result: JSON.parse(io.out) as Record<string, unknown> };
}

describe("cli run: the relay's rules", () => {
  it("the reply to the mail's sender is kept; a send to someone who never wrote is listed as refused", async () => {
    await writeFile(join(cwd, "hello.eml"), mail("hello"));
    const { code, result } = await run("--mail", "hello.eml");
    expect(code).toBe(EXIT.ok);
    expect(result.actions).toEqual([expect.objectContaining({ type: "reply", text: "hi" })]);
    expect(result.refused).toEqual([{ chatId: "bob@example.org", type: "send", code: "E_NO_CONSENT" }]);
  });

  it("--tick: nobody wrote, so the send is refused; with --known-chat it is kept", async () => {
    expect((await run("--tick")).result).toMatchObject({
      status: "ok",
      actions: [],
      refused: [{ chatId: "bob@example.org", type: "send", code: "E_NO_CONSENT" }],
    });
    const known = await run("--tick", "--known-chat", "bob@example.org");
    expect(known.result.actions).toEqual([expect.objectContaining({ type: "send", chatId: "bob@example.org", text: "tick for Bob" })]);
    expect(known.result.refused).toBeUndefined();
  });

  it("/stop is answered by the host: status answered, exit 0, the bot did not run and the state file is untouched", async () => {
    await writeFile(join(cwd, "stop.eml"), mail("/stop"));
    await writeFile(join(cwd, "state.json"), "{}\n");
    const { code, result } = await run("--mail", "stop.eml", "--state", "state.json");
    expect(code).toBe(EXIT.ok);
    expect(result).toMatchObject({ status: "answered", reply: STOP_TEXT, refusal: { kind: "consent", command: "stop" } });
    expect(await readFile(join(cwd, "state.json"), "utf8")).toBe("{}\n");
  });

  it("a mail larger than the manifest's bytesPerHour is refused like on the relay (counted by the file's bytes)", async () => {
    const file = join(bot, "chatbot.json");
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), limits: { perUser: { bytesPerHour: 100 } } }));
    await writeFile(join(cwd, "big.eml"), mail("x".repeat(200)));
    const { code, result } = await run("--mail", "big.eml");
    expect(code).toBe(EXIT.ok);
    expect(result).toMatchObject({ status: "answered", refusal: { kind: "per-user-limit", limit: "bytesPerHour" } });
    expect(result.reply).toContain("too large");
  });
});

describe("cli dev: the relay's rules", () => {
  it("prints refused actions and the host's answer to /stop (the bot does not run)", async () => {
    const io = capture();
    const input = Readable.from(["hello\n", "/stop\n", "/start\n", "/quit\n"]);
    expect(await devLoop(bot, io, { input, watch: false }, { extra: [], httpLoopback: false })).toBe(EXIT.ok);
    expect(io.out).toContain("bot: hi\n");
    expect(io.out).toContain("  refused send to bob@example.org: E_NO_CONSENT (that chat has not written to the bot)\n");
    expect(io.out).toContain(`host: ${STOP_TEXT}\n`);
    expect(io.out).toContain("[answered] the bot did not run: consent: /stop");
  });
});

/** Deletes a message it never sent, or (after /remember) the reply it sent in an earlier event. */
const DELETER = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    if (msg.text === "/remember") await bot.state.set("id", await bot.reply("delete me later"));
    else if (msg.text === "/delete") await bot.deleteMessage(await bot.state.get("id"));
    else await bot.deleteMessage("<never-sent@example.org>");
  },
});
`;
const NOT_SENT = "delete: <never-sent@example.org> is not a message the bot sent in the last days";

describe("cli run and dev: the relay's outbound rules, with its codes", () => {
  it("run: a delete of a message the bot never sent is listed under skipped with the relay's E_NOT_SENT, not under actions", async () => {
    await writeFile(join(bot, "bot.ts"), DELETER);
    await writeFile(join(cwd, "forget.eml"), mail("forget it"));
    const { code, result } = await run("--mail", "forget.eml");
    expect(code).toBe(EXIT.ok);
    expect(result.actions).toEqual([]);
    expect(result.skipped).toEqual([{ index: 0, type: "delete", chatId: "alice@example.org", code: "E_NOT_SENT", reason: NOT_SENT }]);
  });

  it("dev: the skip is printed with its code; a delete of the bot's own reply from an earlier line of the session goes out", async () => {
    await writeFile(join(bot, "bot.ts"), DELETER);
    const io = capture();
    const input = Readable.from(["forget it\n", "/remember\n", "/delete\n", "/quit\n"]);
    expect(await devLoop(bot, io, { input, watch: false }, { extra: [], httpLoopback: false })).toBe(EXIT.ok);
    expect(io.out).toContain(`  skipped delete in you@chatbot.local: E_NOT_SENT (${NOT_SENT})\n`);
    expect(io.out.match(/skipped/g)).toHaveLength(1);
    expect(io.out).toMatch(/bot \(in you@chatbot\.local\): delete <[^>]+>\n/);
  });
});
