// `chatbot host deliver` as Postfix runs it: the compiled CLI in a fresh process, the mail on stdin,
// judged by exit code, stderr line and what is in the spool afterwards. Needs `make build` (lib/).
import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MAIL_MAX_BYTES, MAIL_SHAPE_SCAN_BYTES } from "../../core/limits.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "lib/host/cli/main.js");
/** The same command bundled into one file (`make build`), for the Postfix pipe. */
const BUNDLE = join(ROOT, "lib/deliver.cjs");
const RECORD_IMPORTS = join(ROOT, "test/support/record-imports.mjs");
const BOT = "echobot@chat.test";
const MAIL = Buffer.from(
  "Return-Path: <alice@chat.test>\nFrom: alice@chat.test\nTo: echobot@chat.test\nSubject: caf\xc3\xa9\n\n/help\r\nbytes \x00\xff\n",
  "latin1",
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the compiled CLI (or `script`) with `input` on stdin (optionally as another user, or with extra node flags). */
function deliver(
  args: string[],
  input: Buffer,
  options: { asUser?: string; nodeFlags?: string[]; env?: NodeJS.ProcessEnv; script?: string } = {},
): Promise<Run> {
  const argv = [...(options.nodeFlags ?? []), options.script ?? CLI, ...args];
  const [command, commandArgs] = options.asUser ? ["/usr/sbin/runuser", ["-u", options.asUser, "--", process.execPath, ...argv]] : [process.execPath, argv];
  // An environment as empty as pipe(8)'s: nothing from the test process leaks in.
  const child = spawn(command, commandArgs, { stdio: ["pipe", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin", ...options.env } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin.on("error", () => {}); // the CLI may exit before reading everything (67)
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** A data directory with one installed bot (bots/<addr>/bot.json is what makes an address a bot). */
function dataDirWithBot(addr = BOT): string {
  const dir = mkdtempSync(join(tmpdir(), "deliver-"));
  mkdirSync(join(dir, "bots", addr), { recursive: true });
  writeFileSync(join(dir, "bots", addr, "bot.json"), "{}");
  return dir;
}

/** The spooled mails (new/<id> files without .json) of a data dir. */
function spooled(dataDir: string): Buffer[] {
  const dir = join(dataDir, "spool", "new");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => !name.endsWith(".json")).map((name) => readFileSync(join(dir, name)));
}

/** Exactly one line on stderr, from the command. */
const ONE_LINE = /^chatbot host deliver: [^\n]+\n$/;

describe("cli host deliver", () => {
  it("host deliver: exit 0 and exactly one spool entry, byte-identical to stdin, with the recipient in its meta", async () => {
    const dir = dataDirWithBot();
    const run = await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL);
    expect(run).toEqual({ code: 0, stdout: "", stderr: "" });
    const mails = spooled(dir);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.equals(MAIL)).toBe(true);
    const metaName = readdirSync(join(dir, "spool", "new")).find((name) => name.endsWith(".json"))!;
    expect(JSON.parse(readFileSync(join(dir, "spool", "new", metaName), "utf8"))).toMatchObject({ recipient: BOT, attempts: 0 });
  });

  it("host deliver: the data folder may come from $CHATBOT_DATA_DIR", async () => {
    const dir = dataDirWithBot();
    expect((await deliver(["host", "deliver", BOT], MAIL, { env: { CHATBOT_DATA_DIR: dir } })).code).toBe(0);
    expect(spooled(dir)).toHaveLength(1);
  });

  it("host deliver: exit 67 with one stderr line for an address that is not a bot of this host", async () => {
    const dir = dataDirWithBot();
    const run = await deliver(["host", "deliver", "stranger@chat.test", "--data-dir", dir], MAIL);
    expect(run.code).toBe(67);
    expect(run.stderr).toMatch(ONE_LINE);
    expect(run.stderr).toMatch(/stranger@chat\.test is not a bot/);
    expect(spooled(dir)).toEqual([]);
  });

  it("host deliver: exit 65 for empty input, a mail one byte over MAIL_MAX_BYTES, garbage, or no header end within 1 MiB — nothing spooled", async () => {
    const dir = dataDirWithBot();
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.alloc(0), /the input is empty/],
      [Buffer.concat([MAIL, Buffer.alloc(MAIL_MAX_BYTES + 1 - MAIL.length, 0x61)]), new RegExp(`larger than ${MAIL_MAX_BYTES} bytes`)],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x0a, 0x0a]), /first line is not a header field/],
      [
        Buffer.concat([Buffer.from("Subject: x\n"), Buffer.alloc(MAIL_SHAPE_SCAN_BYTES, 0x61), Buffer.from("\n\nbody\n")]),
        /no empty line ends the header within the first 1048576 bytes/,
      ],
      [Buffer.from("Subject: only a header\n"), /no empty line separates the header from the body/],
    ];
    for (const [input, why] of cases) {
      const run = await deliver(["host", "deliver", BOT, "--data-dir", dir], input);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 65, stderr: expect.stringMatching(ONE_LINE) });
      expect(run.stderr).toMatch(why);
    }
    expect(spooled(dir)).toEqual([]);
    expect(readdirSync(join(dir, "spool", "tmp"))).toEqual([]);
  });

  it("host deliver: a mail of exactly MAIL_MAX_BYTES is spooled", async () => {
    const dir = dataDirWithBot();
    const input = Buffer.concat([MAIL, Buffer.alloc(MAIL_MAX_BYTES - MAIL.length, 0x61)]);
    expect((await deliver(["host", "deliver", BOT, "--data-dir", dir], input)).code).toBe(0);
    expect(spooled(dir)[0]!.length).toBe(MAIL_MAX_BYTES);
  });

  it("host deliver: exit 75 when the spool cannot be written (a file where the folder should be)", async () => {
    const dir = dataDirWithBot();
    writeFileSync(join(dir, "spool"), "not a folder");
    const run = await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL);
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(ONE_LINE);
    expect(run.stderr).toMatch(/try again later/);
  });

  it.skipIf(process.getuid?.() !== 0 || !hasUser("chatbot"))(
    "host deliver: exit 75 when the spool folder is not writable for the pipe user (chatbot), and 0 once it is fixed",
    async () => {
      const dir = dataDirWithBot();
      mkdirSync(join(dir, "spool"));
      for (const path of [dir, join(dir, "bots"), join(dir, "bots", BOT), join(dir, "bots", BOT, "bot.json"), join(dir, "spool")])
        chownSync(path, uid("chatbot"), gid("chatbot"));
      chmodSync(join(dir, "spool"), 0o000);
      const run = await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL, { asUser: "chatbot" });
      expect(run.code).toBe(75);
      expect(run.stderr).toMatch(ONE_LINE);
      expect(run.stderr).toMatch(/EACCES|permission denied/i);
      chmodSync(join(dir, "spool"), 0o700);
      expect((await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL, { asUser: "chatbot" })).code).toBe(0);
      expect(spooled(dir)).toHaveLength(1);
    },
  );

  it("host deliver: exit 75 (not a bounce) when the data folder has no bots/ folder — a wrong --data-dir must not bounce mail", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deliver-empty-"));
    const run = await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL);
    expect(run.code).toBe(75);
    expect(run.stderr).toMatch(ONE_LINE);
    expect(run.stderr).toMatch(/is --data-dir right\?/);
  });

  it("host deliver: a broken command line is a temporary failure (75) with one line, so Postfix keeps the mail", async () => {
    const dir = dataDirWithBot();
    for (const args of [
      ["host", "deliver", "--data-dir", dir],
      ["host", "deliver", BOT, "--data-dir", dir, "--bogus"],
    ]) {
      const run = await deliver(args, MAIL);
      expect(run.code).toBe(75);
      expect(run.stderr).toMatch(ONE_LINE);
    }
  });

  it("host deliver: --help explains the exit codes, and chatbot --help lists the command", async () => {
    const help = await deliver(["host", "deliver", "--help"], Buffer.alloc(0));
    expect(help.code).toBe(0);
    for (const text of ["Usage: chatbot host deliver ADDR", "0   spooled", "65", "67", "75", "--data-dir DIR", "pipe"]) expect(help.stdout).toContain(text);
    const top = await deliver(["--help"], Buffer.alloc(0));
    expect(top.stdout).toMatch(/^ {2}host deliver +store one mail from stdin/m);
  });

  it("host deliver: starts fast — it loads only node: built-ins and its own few files, never QuickJS, openpgp, mailparser, esbuild, undici or nodemailer", async () => {
    // Node's module hooks (node:module register) see every module the process resolves, static
    // and dynamic imports alike: a runtime record, not a guess from the source text.
    const recorded = async (args: string[]) => {
      const out = join(mkdtempSync(join(tmpdir(), "imports-")), "urls.txt");
      writeFileSync(out, "");
      const run = await deliver(args, MAIL, { nodeFlags: ["--import", RECORD_IMPORTS], env: { RECORD_IMPORTS_TO: out } });
      return { run, urls: [...new Set(readFileSync(out, "utf8").split("\n").filter(Boolean))] };
    };
    // The control: the recorder does see packages (`chatbot run` loads esbuild, openpgp, the mail stack, …).
    const control = await recorded(["run", "--help"]);
    expect(control.urls.some((url) => url.includes("/node_modules/"))).toBe(true);

    const dir = dataDirWithBot();
    const { run, urls } = await recorded(["host", "deliver", BOT, "--data-dir", dir]);
    expect(run.code).toBe(0);
    const files = urls
      .filter((url) => !url.startsWith("node:"))
      .map((url) => url.slice(`file://${ROOT}lib/`.length))
      .sort();
    expect(files).toEqual([
      "core/address.js",
      "core/errors.js",
      "core/limits.js",
      "host/cli/args.js",
      "host/cli/command.js",
      "host/cli/commands/host-deliver.js",
      "host/cli/commands/index.js", // the registry: paths and import() calls, no command of its own
      "host/cli/main.js",
      "host/cli/run-command.js",
      "host/service/deliver.js",
      "host/service/mail-shape.js",
      "host/service/paths.js",
      "host/spool/bounded-copy.js",
      "host/spool/durable-fs.js",
      "host/spool/entry.js",
      "host/spool/file-io.js", // the stores' file calls (libuv's pool here; blocking only in the pipeline)
      "host/spool/spool.js",
      "host/storage/json-object.js",
    ]);
    expect(urls.filter((url) => /quickjs|openpgp|mailparser|esbuild|undici|nodemailer|node_modules/.test(url))).toEqual([]);
  });
});

describe("cli host deliver, bundled (lib/deliver.cjs)", () => {
  it("host deliver bundle: the same command — exit 0 and the mail byte-identical in the spool; 67 for an unknown bot; its help", async () => {
    const dir = dataDirWithBot();
    expect(await deliver([BOT, "--data-dir", dir], MAIL, { script: BUNDLE })).toEqual({ code: 0, stdout: "", stderr: "" });
    // The CLI's own words are accepted too: only the script path differs from `chatbot host deliver`.
    expect((await deliver(["host", "deliver", BOT, "--data-dir", dir], MAIL, { script: BUNDLE })).code).toBe(0);
    const mails = spooled(dir);
    expect(mails).toHaveLength(2);
    expect(mails.every((mail) => mail.equals(MAIL))).toBe(true);
    const unknown = await deliver(["nobody@chat.test", "--data-dir", dir], MAIL, { script: BUNDLE });
    expect(unknown.code).toBe(67);
    expect(unknown.stderr).toMatch(ONE_LINE);
    expect((await deliver(["--help"], Buffer.alloc(0), { script: BUNDLE })).stdout).toContain("Usage: chatbot host deliver ADDR");
  });

  it("host deliver bundle: one file that needs nothing but node: built-ins — no package, no other file of ours", async () => {
    const text = readFileSync(BUNDLE, "utf8");
    const required = [...text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((name) => !name.startsWith("node:"))).toEqual([]);
    expect(text).not.toMatch(/\bimport\(/);
    // At run time, too: the recorder sees the bundle and built-ins only.
    const out = join(mkdtempSync(join(tmpdir(), "imports-")), "urls.txt");
    writeFileSync(out, "");
    const run = await deliver([BOT, "--data-dir", dataDirWithBot()], MAIL, {
      script: BUNDLE,
      nodeFlags: ["--import", RECORD_IMPORTS],
      env: { RECORD_IMPORTS_TO: out },
    });
    expect(run.code).toBe(0);
    const urls = [...new Set(readFileSync(out, "utf8").split("\n").filter(Boolean))];
    expect(urls.filter((url) => !url.startsWith("node:"))).toEqual([`file://${BUNDLE}`]);
  });
});

function passwdLine(user: string): string[] | undefined {
  return readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((line) => line.startsWith(`${user}:`))
    ?.split(":");
}

function hasUser(user: string): boolean {
  return passwdLine(user) !== undefined;
}

function uid(user: string): number {
  return Number(passwdLine(user)![2]);
}

function gid(user: string): number {
  return Number(passwdLine(user)![3]);
}
