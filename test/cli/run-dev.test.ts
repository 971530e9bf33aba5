import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { EXIT } from "../../host/cli/command.js";
import { devLoop } from "../../host/cli/commands/dev.js";
import { Executor } from "../../host/executor/executor.js";
import { captureIo, type Captured } from "../support/cli-io.js";

let cwd: string;
let bot: string;
// One sandbox runner for the file's commands (a runner's start costs ~0.6 s of CPU); the first
// `run` and the first `dev` test start and stop their own, as the binary does.
let shared: Executor;

/** An io for a command that runs its events in the file's shared sandbox. */
function capture(): Captured {
  const io = captureIo(cwd);
  io.executor = shared;
  return io;
}

/** An io without an executor: the command starts its own sandbox and stops it when done. */
function captureOwnSandbox(): Captured {
  return captureIo(cwd);
}

/** A bot from the echo template in a fresh folder, with `source` as its bot.ts when given. */
async function newBot(source?: string, manifest: Record<string, unknown> = {}): Promise<string> {
  expect(await runCli(["new", "bot"], capture())).toBe(EXIT.ok);
  if (source !== undefined) await writeFile(join(bot, "bot.ts"), source);
  if (Object.keys(manifest).length > 0) {
    const file = join(bot, "chatbot.json");
    const current = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...current, ...manifest }, null, 2));
  }
  return bot;
}

interface Printed {
  status: string;
  actions: Array<{ type: string; text: string; file?: Record<string, unknown> }>;
  error?: { code: string; message: string };
  limit?: { name: string; value: number; unit: string };
  logs: Array<{ level: string; text: string }>;
  cpuMs: number;
  wallMs: number;
  memoryBytes: number;
}

/** `chatbot run <args>` in cwd with `io`: its exit code, the JSON it printed and what it wrote. */
async function runWith(io: Captured, args: string[]): Promise<{ code: number; result: Printed; io: Captured }> {
  const code = await runCli(["run", ...args], io);
  return { code, result: (io.out === "" ? undefined : JSON.parse(io.out)) as Printed, io };
}

/** `chatbot run <args>` in cwd, in the file's shared sandbox. */
const run = (...args: string[]) => runWith(capture(), args);

const fixture = (name: string) => new URL(`../fixtures/mail/${name}`, import.meta.url).pathname;

const COUNTER = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    const n = (await bot.state.get<number>("n")) ?? 0;
    await bot.state.set("n", n + 1);
    await bot.reply(String(n + 1));
  },
});
`;

/** Wait until `check()` holds, polling every 20 ms; fails after `timeoutMs`. */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(() => {
  shared = new Executor();
});

afterAll(async () => {
  await shared.close();
});

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "chatbot-run-"));
  bot = join(cwd, "bot");
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe("cli run: one event in the real sandbox", () => {
  it("runs the echo template on sample.eml: exit 0, status ok, the echo and the event's cost", async () => {
    await newBot();
    const { code, result, io } = await runWith(captureOwnSandbox(), ["bot", "--mail", "bot/sample.eml"]);
    expect(code).toBe(EXIT.ok);
    expect(result.status).toBe("ok");
    expect(result.actions[0]?.text).toBe("echo: hello");
    expect(result.actions[0]).toMatchObject({ type: "reply", inReplyTo: "<sample-1@example.org>", chatId: "alice@example.org" });
    for (const cost of [result.cpuMs, result.wallMs, result.memoryBytes]) expect(cost).toEqual(expect.any(Number));
    expect(result.memoryBytes).toBeGreaterThan(0);
    expect(io.err).toMatch(/^\[ok\] cpu /m);
  });

  it("exits 1 with E_BOT_EXCEPTION and the thrown text when the bot throws", async () => {
    await newBot(`import { defineBot } from "chatbot/std";
export default defineBot({ message() { throw new Error("kaboom in the handler"); } });
`);
    const { code, result } = await run("bot", "--mail", "bot/sample.eml");
    expect(code).toBe(EXIT.botError);
    expect(result.status).toBe("bot-error");
    expect(result.error?.code).toBe("E_BOT_EXCEPTION");
    expect(result.error?.message).toContain("kaboom in the handler");
    expect(result.actions).toEqual([]);
  });

  it("attack: an infinite loop is stopped at the manifest's cpuMsPerEvent with exit 2", async () => {
    await newBot(
      `import { defineBot } from "chatbot/std";
export default defineBot({ message() { for (;;) {} } });
`,
      { limits: { cpuMsPerEvent: 100 } },
    );
    const { code, result } = await run("bot", "--mail", "bot/sample.eml");
    expect(code).toBe(EXIT.limitHit);
    expect(result.status).toBe("cpu-limit");
    expect(result.limit).toMatchObject({ name: "cpuMsPerEvent", value: 100 });
  });

  it("keeps bot.state in --state between runs, in a file only the owner can read", async () => {
    await newBot(COUNTER);
    const first = await run("bot", "--mail", "bot/sample.eml", "--state", "state.json");
    expect(first.code).toBe(EXIT.ok);
    expect(first.result.actions.map((a) => a.text)).toEqual(["1"]);
    const second = await run("bot", "--mail", "bot/sample.eml", "--state", "state.json");
    expect(second.result.actions.map((a) => a.text)).toEqual(["2"]);
    expect(JSON.parse(await readFile(join(cwd, "state.json"), "utf8"))).toEqual({ n: 2 });
    expect((await stat(join(cwd, "state.json"))).mode & 0o777).toBe(0o600);
  });

  it("makes an existing, world-readable state file private when it writes it", async () => {
    await newBot(COUNTER);
    await writeFile(join(cwd, "state.json"), '{"n": 5}\n', { mode: 0o644 });
    const { result } = await run("bot", "--mail", "bot/sample.eml", "--state", "state.json");
    expect(result.actions.map((a) => a.text)).toEqual(["6"]);
    expect((await stat(join(cwd, "state.json"))).mode & 0o777).toBe(0o600);
  });
});

describe("cli run: files the bot sends", () => {
  const FILE_BOT = (name: string) => `import { defineBot } from "chatbot/std";
const data = new Uint8Array(300);
for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
export default defineBot({
  async message(msg, bot) {
    await bot.reply({ text: "here", file: { name: ${JSON.stringify(name)}, type: "application/x-test", data } });
  },
});
`;
  const expected = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));

  it("prints a file as {name, type, size, sha256} without its bytes, and --files saves the exact bytes", async () => {
    await newBot(FILE_BOT("data.bin"));
    const { code, result, io } = await run("bot", "--mail", "bot/sample.eml", "--files", "out");
    expect(code).toBe(EXIT.ok);
    expect(result.actions[0]?.file).toEqual({
      name: "data.bin",
      type: "application/x-test",
      size: 300,
      sha256: createHash("sha256").update(expected).digest("hex"),
    });
    expect(io.out).not.toContain("dataBase64");
    expect(await readFile(join(cwd, "out", "data.bin"))).toEqual(expected);
  });

  it.each(["../../evil.txt", "..\\..\\evil.txt", "/etc/evil.txt"])("attack: a file named %s lands inside --files, not beside it", async (name) => {
    await newBot(FILE_BOT(name));
    const { code } = await run("bot", "--mail", "bot/sample.eml", "--files", "out");
    expect(code).toBe(EXIT.ok);
    const saved = await readdir(join(cwd, "out"));
    expect(saved).toHaveLength(1);
    expect(await readFile(join(cwd, "out", saved[0]!))).toEqual(expected);
    expect(existsSync(join(cwd, "evil.txt"))).toBe(false);
    expect(existsSync(join(tmpdir(), "evil.txt"))).toBe(false);
  });

  it.each([
    ["..", ".."],
    [".", "."],
    ["a\\0b.txt (with a NUL byte)", "a\u0000b.txt"],
  ])("attack: a file named %s is saved inside --files instead of crashing the run", async (_what, name) => {
    await newBot(FILE_BOT(name));
    const { code, io } = await run("bot", "--mail", "bot/sample.eml", "--files", "out");
    expect(io.err).not.toContain("internal error");
    expect(code).toBe(EXIT.ok);
    const saved = await readdir(join(cwd, "out"));
    expect(saved).toHaveLength(1);
    expect(await readFile(join(cwd, "out", saved[0]!))).toEqual(expected);
  });
});

describe("cli run: ticks", () => {
  it("runs the tick handler with --tick", async () => {
    await newBot(`import { defineBot } from "chatbot/std";
export default defineBot({ message() {}, tick(bot) { bot.log("tick"); } });
`);
    const { code, result } = await run("bot", "--tick");
    expect(code).toBe(EXIT.ok);
    expect(result.logs.map((l) => l.text)).toContain("tick");
  });

  it("makes bot.reply in a tick a bot error: a tick has nothing to reply to", async () => {
    await newBot(`import { defineBot } from "chatbot/std";
export default defineBot({ message() {}, async tick(bot) { await bot.reply("hello?"); } });
`);
    const { code, result } = await run("bot", "--tick");
    expect(code).toBe(EXIT.botError);
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toContain("bot.reply");
    expect(result.actions).toEqual([]);
  });
});

describe("cli run: usage, input and manifest errors", () => {
  it("exits 64 without --mail or --tick", async () => {
    await newBot();
    const { code, io } = await run("bot");
    expect(code).toBe(EXIT.usage);
    expect(io.err).toContain("--mail");
  });

  it("exits 64 with both --mail and --tick", async () => {
    await newBot();
    const { code, io } = await run("bot", "--mail", "bot/sample.eml", "--tick");
    expect(code).toBe(EXIT.usage);
    expect(io.err).toContain("exclude each other");
  });

  it("exits 64 on an unknown option, naming it", async () => {
    await newBot();
    const { code, io } = await run("bot", "--mail", "bot/sample.eml", "--frobnicate");
    expect(code).toBe(EXIT.usage);
    expect(io.err).toContain("--frobnicate");
  });

  it("exits 66 when the mail file does not exist", async () => {
    await newBot();
    const { code, io } = await run("bot", "--mail", "nope.eml");
    expect(code).toBe(EXIT.noInput);
    expect(io.err).toContain("E_NOT_FOUND");
  });

  it("exits 65 on a mail without From", async () => {
    await newBot();
    const { code, io } = await run("bot", "--mail", fixture("no-from.eml"));
    expect(code).toBe(EXIT.dataError);
    expect(io.err).toContain("E_MAIL_MALFORMED");
  });

  it("hands a mail's attachment to the echo bot, which sends it back unchanged", async () => {
    await newBot();
    const { code, result } = await run("bot", "--mail", fixture("attachment.eml"), "--files", "out");
    expect(code).toBe(EXIT.ok);
    expect(result.actions[0]?.text).toBe("echo: blob.bin (application/octet-stream, 2048 bytes)");
    expect(result.actions[0]?.file).toMatchObject({ name: "blob.bin", type: "application/octet-stream", size: 2048 });
    const sent = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 31 + 7) % 256));
    expect(await readFile(join(cwd, "out", "blob.bin"))).toEqual(sent);
  });

  it("exits 65 on a manifest with an unknown key, naming the key", async () => {
    await newBot(undefined, { colour: "blue" });
    const { code, io } = await run("bot", "--mail", "bot/sample.eml");
    expect(code).toBe(EXIT.dataError);
    expect(io.err).toContain("colour");
  });
});

describe("cli dev: chatting with the bot in the terminal", () => {
  const origins = { extra: [], httpLoopback: false };

  it("answers each line, runs /tick, shows /state and leaves on /quit", async () => {
    await newBot();
    const io = captureOwnSandbox();
    const input = Readable.from(["hello\n", "/tick\n", "/state\n", "/quit\n", "not read\n"]);
    expect(await devLoop(bot, io, { input, watch: false }, origins)).toBe(EXIT.ok);
    expect(io.out).toContain("chatting with bot 1.0.0");
    expect(io.out).toContain("bot: echo: hello\n");
    // One cost line per event: the message and the tick.
    expect(io.out.match(/^ {2}\[ok\] cpu .* memory /gm)).toHaveLength(2);
    expect(io.out).not.toContain("not read");
  });

  it("/group speaks in a group chat; /webxdc sends a status update to the last app the bot sent", async () => {
    await newBot(`import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    if (msg.command?.name === "app") { await bot.reply({ text: "app", file: { name: "a.xdc", data: "zip" } }); return; }
    await bot.reply(msg.chat.type + " " + msg.chat.id + " " + msg.text);
  },
  async webxdc(update, bot) { await bot.reply("update " + update.instanceId + " " + JSON.stringify(update.payload)); },
});
`);
    const io = capture();
    const input = Readable.from(["/group Club hello all\n", "/webxdc {}\n", "/app\n", '/webxdc {"vote":2}\n', "/webxdc not json\n", "/quit\n"]);
    await devLoop(bot, io, { input, watch: false }, origins);
    expect(io.out).toContain("bot: group group:club hello all\n");
    expect(io.out).toContain("no webxdc app yet");
    const app = /webxdc app (<[^>]+>)/.exec(io.out)?.[1];
    expect(app).toBeDefined();
    expect(io.out).toContain(`bot: update ${app} {"vote":2}\n`);
    expect(io.out).toContain("usage: /webxdc");
  });

  it("keeps bot.state for the session and shows it with /state", async () => {
    await newBot(COUNTER);
    const io = capture();
    const input = Readable.from(["a\n", "b\n", "c\n", "/state\n", "/quit\n"]);
    await devLoop(bot, io, { input, watch: false }, origins);
    expect(io.out).toContain("bot: 1\n");
    expect(io.out).toContain("bot: 3\n");
    expect(io.out).toContain(`${JSON.stringify({ n: 3 }, null, 2)}\n`);
  });

  it("reloads the bot when bot.ts changes", async () => {
    await newBot();
    const io = capture();
    const input = new PassThrough();
    const loop = devLoop(bot, io, { input, watch: true }, origins);
    try {
      input.write("hi\n");
      await until(() => io.out.includes("bot: echo: hi\n"), "the first reply");
      await writeFile(
        join(bot, "bot.ts"),
        `import { defineBot } from "chatbot/std";
export default defineBot({ async message(msg, bot) { await bot.reply("v2: " + msg.text); } });
`,
      );
      await until(() => io.out.includes("reloaded bot\n"), "the reload");
      input.write("hi\n");
      await until(() => io.out.includes("bot: v2: hi\n"), "the reply of the new version");
    } finally {
      input.end("/quit\n");
      expect(await loop).toBe(EXIT.ok);
    }
  });

  it("says a broken build is not run, and recovers when the file is fixed", async () => {
    await newBot();
    const io = capture();
    const input = new PassThrough();
    const loop = devLoop(bot, io, { input, watch: true }, origins);
    const source = await readFile(join(bot, "bot.ts"), "utf8");
    try {
      await until(() => io.out.includes("chatting with"), "the greeting");
      await writeFile(join(bot, "bot.ts"), "export default defineBot({ message( {\n");
      await until(() => io.out.includes("reload failed"), "the failed reload");
      expect(io.out).toContain("E_BUILD");
      input.write("hello\n");
      await until(() => io.out.includes("(not run: the last build failed"), "the refusal");
      expect(io.out).not.toContain("bot: echo: hello");
      await writeFile(join(bot, "bot.ts"), source);
      await until(() => io.out.includes("reloaded bot\n"), "the recovery");
      input.write("hello\n");
      await until(() => io.out.includes("bot: echo: hello\n"), "the reply after the fix");
    } finally {
      input.end("/quit\n");
      expect(await loop).toBe(EXIT.ok);
    }
  });

  it("exits 65 when the bot does not build at the start", async () => {
    await newBot("export default defineBot({ message( {\n");
    const io = capture();
    expect(await devLoop(bot, io, { input: Readable.from([]), watch: false }, origins)).toBe(EXIT.dataError);
    expect(io.err).toContain("build failed: E_BUILD");
  });
});
