// The package as a new user and an operator get it from a registry, outside any checkout (issue 14):
// a real registry (Verdaccio, test/support/local-registry.ts) on 127.0.0.1, started by `make
// registry`'s own program (test/demo/local-registry.ts), which packs this project's two packages
// from this checkout (`npm pack`, as `npm publish` would) and publishes them to it; then, in a fresh HOME whose .npmrc names only that registry and forbids install scripts:
//   - the README's quick start, run verbatim (its `npm create … --template echo` line included);
//   - every other template the same way (`npm create …` for some, `npx @chatbot-host/chatbot new`
//     for the others): npm install, npm test, npm run typecheck, then the installed CLI's run, build
//     and a scripted dev (the file `npx chatbot` runs, called directly: the quick start covers npx);
//   - the operator's path, beside the templates: `npm install -g`, then `chatbot host init` and
//     `chatbot host setup --dry-run` from that global install.
// npm's cache is the machine user's (warm from `npm ci`): packages other than ours come through the
// registry's proxy but their bytes from that cache (--prefer-offline), as for any user who installed
// something before. Templates run two at a time (2 cores).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/poll.js";
import { runShell, userShellEnv } from "../support/user-shell.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const VITE_NODE = join(ROOT, "node_modules", "vite-node", "vite-node.mjs");
const TEMPLATES = readdirSync(join(ROOT, "templates"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(ROOT, "templates", e.name, "chatbot.json")))
  .map((e) => e.name)
  .sort();
/** The template the README's quick start uses: that test covers it. */
const QUICK_START_TEMPLATE = "echo";
// One template's own steps (create, install, test, typecheck, run, build, dev: ~30 s from the warm
// cache): counted from when it starts, not from when it was queued behind the others.
const TEMPLATE_TIMEOUT_MS = 240_000;
const QUEUED_TIMEOUT_MS = TEMPLATE_TIMEOUT_MS * Math.ceil(TEMPLATES.length / 2);

const work = mkdtempSync(join(tmpdir(), "registry-e2e-"));
const home = join(work, "home");
/** `make registry`'s program: the registry every case here uses, and what its own case checks. */
let registryProgram: ChildProcess | undefined;
let registryOutput = "";
let registryExited: Promise<number | null>;
let registryUrl: string;

/** The fresh user's environment: only HOME's .npmrc (the local registry, no install scripts), the machine's npm cache. */
function newUserEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return userShellEnv({
    HOME: home,
    npm_config_cache: join(homedir(), ".npm"),
    npm_config_prefer_offline: "true",
    npm_config_userconfig: join(home, ".npmrc"),
    ...extra,
  });
}

/** Each step's time, printed at the end (where a slow run spends it). */
const timings: string[] = [];

/** Run `command` (a shell line) as the new user in `cwd`; `input` is typed into it. `output` has stdout and stderr interleaved. */
async function sh(command: string, cwd: string, input = "", env = newUserEnv()): Promise<{ code: number | null; output: string; stdout: string }> {
  const started = Date.now();
  const result = await runShell(command, cwd, env, input);
  timings.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${command.split("\n").at(-1)!.slice(0, 100)}`);
  return result;
}

/** At most `n` of the returned function's tasks run at once; each fails after `timeoutMs` of its own running. */
function limiter(n: number, timeoutMs: number): <T>(what: string, task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (what, task) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done after ${timeoutMs} ms of its own running`)), timeoutMs);
    });
    try {
      return await Promise.race([task(), deadline]);
    } finally {
      clearTimeout(timer);
      active -= 1;
      waiting.shift()?.();
    }
  };
}
const twoAtATime = limiter(2, TEMPLATE_TIMEOUT_MS);

/**
 * The CLI a bot folder installed: the file `npx chatbot` finds and runs. The quick start runs the
 * README's `npx chatbot …` lines verbatim; the other templates call the same file directly, since
 * npx's own start reads the whole installed tree first (~1.3 CPU-seconds a call, 12 calls here).
 */
const CHATBOT_BIN = "./node_modules/.bin/chatbot";

/** The quick start's bot folder, once its `npm install` and tests passed: the other templates start from its node_modules. */
let quickStartBot: string | undefined;

/**
 * Every template declares the same dependencies, so `npm install` in each would unpack the same
 * tree again (~12 s and ~15 CPU-seconds each, a fifth of this file's CPU). A template's folder
 * gets a copy of the quick start's installed node_modules (its vitest cache left out) when its
 * dependencies are the same, as they are asserted to be; its own `npm install` then checks that
 * tree against its package.json and writes its lock file, as after any earlier install.
 */
async function seedFromQuickStart(dir: string): Promise<void> {
  if (!quickStartBot) return;
  const deps = (folder: string) => JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as { devDependencies?: unknown; dependencies?: unknown };
  expect(deps(dir).devDependencies).toEqual(deps(quickStartBot).devDependencies);
  expect(deps(dir).dependencies).toEqual(deps(quickStartBot).dependencies);
  // Hard links, not copies (~1 CPU-second each): nothing here writes into an installed package's
  // files. npm rewrites node_modules/.package-lock.json in place, so that one file is a copy of its own.
  const copied = await runShell(
    `cp -al ${join(quickStartBot, "node_modules")} node_modules && rm -rf node_modules/.vite node_modules/.package-lock.json && cp ${join(quickStartBot, "node_modules", ".package-lock.json")} node_modules/`,
    dir,
    userShellEnv(),
  );
  expect(copied.code, copied.output).toBe(0);
}

/** The commands of the README's "Quick start" code block, comments stripped. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split("### Quick start\n")[1]?.split("\n### ")[0] ?? "";
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README: no ```sh block under ### Quick start");
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

beforeAll(async () => {
  // Packed from this checkout (lib/ as `make build` left it) and published, as a release would be.
  const child = spawn(process.execPath, [VITE_NODE, join(ROOT, "test", "demo", "local-registry.ts")], {
    cwd: ROOT,
    env: userShellEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  registryProgram = child;
  child.stdout!.on("data", (chunk: Buffer) => (registryOutput += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (registryOutput += chunk.toString()));
  registryExited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  registryUrl = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`make registry's program exited ${child.exitCode}: ${registryOutput.slice(-2000)}`);
      return /export npm_config_registry=(\S+)/.exec(registryOutput)?.[1];
    },
    "make registry's export line",
    110_000,
  );
  mkdirSync(home);
  writeFileSync(join(home, ".npmrc"), `registry=${registryUrl}\nignore-scripts=true\n`);
}, 120_000);

afterAll(async () => {
  console.log(`registry.test.ts steps:\n${timings.join("\n")}`);
  if (registryProgram && registryProgram.exitCode === null) {
    registryProgram.kill("SIGTERM");
    await registryExited;
  }
  rmSync(work, { recursive: true, force: true });
});

describe("from a registry, outside any checkout", () => {
  it("the README quick start, verbatim: npm create, install, test, typecheck, a run and a dev session; then chatbot build", async () => {
    const commands = quickStartCommands();
    expect(commands[0]).toMatch(new RegExp(`^npm create @chatbot-host@latest \\S+ -- --template ${QUICK_START_TEMPLATE}$`));
    const script = ["set -euo pipefail", ...[...commands, "npx chatbot build"].map((command) => `echo "+ ${command}"; ${command}`)].join("\n");
    const { code, output } = await twoAtATime("quick start", () => sh(script, home, "hello from the quick start\n/quit\n"));
    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Tests\s+\d+ passed/);
    expect(output).toContain("echo: hello from the quick start");
    expect(output).toMatch(/^built mybot /m);
    // The bot depends on the registry's package under the name "chatbot", by a semver range.
    const pkg = JSON.parse(readFileSync(join(home, "mybot", "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    expect(pkg.devDependencies.chatbot).toBe(`npm:@chatbot-host/chatbot@^${version}`);
    quickStartBot = join(home, "mybot");
  }, 300_000);

  TEMPLATES.filter((name) => name !== QUICK_START_TEMPLATE).forEach((template, index) => {
    // Half through the initializer, half through the package's own `new`: both forms work.
    const create =
      index % 2 === 0
        ? `npm create @chatbot-host@latest ${template}-bot -- --template ${template}`
        : `npx @chatbot-host/chatbot new ${template}-bot --template ${template}`;
    it.concurrent(
      `${template}: ${create.split(" ").slice(0, 3).join(" ")} …, npm install, npm test, typecheck, run, build, dev`,
      () =>
        twoAtATime(template, async () => {
          const dir = join(home, `${template}-bot`);
          const step = async (command: string, cwd = dir, input = "") => {
            const { code, output, stdout } = await sh(command, cwd, input);
            expect(code, `${template}: ${command} exited ${code}:\n${output.slice(-4000)}`).toBe(0);
            return { output, stdout };
          };
          await step(create, home);
          await seedFromQuickStart(dir);
          await step("npm install");
          expect((await step("npm test")).output).toMatch(/Tests\s+\d+ passed/);
          await step("npm run typecheck");
          if (existsSync(join(dir, "sample.eml"))) {
            const result = JSON.parse((await step(`${CHATBOT_BIN} run --mail sample.eml`)).stdout) as { status: string };
            expect(result.status).toBe("ok");
          }
          expect((await step(`${CHATBOT_BIN} build`)).output).toMatch(new RegExp(`^built ${template}-bot `, "m"));
          expect((await step(`${CHATBOT_BIN} dev`, dir, "/tick\n/quit\n")).output).toMatch(/^chatting with /m);
        }),
      QUEUED_TIMEOUT_MS,
    );
  });

  // Beside the templates (it needs only the registry), not after them.
  it.concurrent("the operator's path: npm install -g, then chatbot host init and host setup --dry-run from that install", async () => {
    const prefix = join(home, "global");
    const env = newUserEnv({ npm_config_prefix: prefix, PATH: `${join(prefix, "bin")}:${process.env.PATH}` });
    const run = async (command: string) => {
      const { code, output } = await sh(command, home, "", env);
      expect(code, `${command} exited ${code}:\n${output.slice(-4000)}`).toBe(0);
      return output;
    };
    await run("npm install -g @chatbot-host/chatbot");
    expect((await run("command -v chatbot")).trim()).toBe(join(prefix, "bin", "chatbot"));
    expect(await run("chatbot --help")).toMatch(/^Usage: chatbot <command>/m);
    await run(`chatbot host init --data-dir ${join(home, "data")}`);
    expect(existsSync(join(home, "data", "host.json"))).toBe(true);
    writeFileSync(join(home, "dovecot.conf"), "protocols = imap lmtp\n");
    const plan = await run(
      `chatbot host setup --dry-run --data-dir ${join(home, "data")} --user nobody --mail-group 0 --dovecot-config ${join(home, "dovecot.conf")} --unit-file ${join(home, "chatbot.service")}`,
    );
    // The unit it would write runs this global install, not a checkout.
    expect(plan).toContain(join(prefix, "lib", "node_modules", "@chatbot-host", "chatbot", "lib", "host", "cli", "main.js"));
    expect(plan).toMatch(/steps to do; run without --dry-run to do them/);
  }, 300_000);

  // Last: it stops the registry the cases above used.
  it("make registry's program (test/demo/local-registry.ts) printed the export line, its registry serves both packages, and it stops on SIGTERM", async () => {
    expect(registryOutput).toMatch(/^A registry with this checkout's @chatbot-host\/chatbot and @chatbot-host\/create runs at /m);
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    for (const name of ["@chatbot-host/chatbot", "@chatbot-host/create"]) {
      const viewed = await sh(`npm view ${name} version`, home, "", newUserEnv({ npm_config_registry: registryUrl }));
      expect(viewed.stdout.trim(), viewed.output).toBe(version);
    }
    registryProgram!.kill("SIGTERM");
    expect(await registryExited).toBe(0);
    // Nothing listens on its port any more.
    const { port } = new URL(registryUrl);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 60_000);
});
