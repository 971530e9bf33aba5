// The sh program Dovecot's IMAPSieve pipes each ChatbotInstall append to (dovecot-steps.ts
// hookProgram), run for real with /bin/sh: it drops the message as <time>.<pid>.<account>, refuses
// names that are not one account, caps one account's waiting files and the inbox's, and treats the
// inbox path as one word whatever it holds (spaces, quotes, $).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEPLOY_INBOX_FILES_MAX, DEPLOY_INBOX_FILES_PER_ACCOUNT } from "../../../core/limits.js";
import { hookProgram, shellWord } from "../../../host/setup/dovecot-steps.js";

/** A hook for an inbox at `name` inside a fresh temp folder; `run` pipes `message` to it as `account`. */
function hookIn(name = "inbox") {
  const work = mkdtempSync(join(tmpdir(), "deploy-hook-"));
  const inbox = join(work, name);
  mkdirSync(inbox);
  const program = join(work, "chatbot-deploy");
  writeFileSync(program, hookProgram({ deployInbox: inbox }), { mode: 0o755 });
  const run = (account: string, message = `X-Chatbot-Deploy: 1\r\n\r\nfrom ${account}\r\n`) =>
    execFileSync("/bin/sh", [program, account], { input: message, cwd: work });
  const files = () => readdirSync(inbox).sort();
  return { work, inbox, run, files };
}

describe("the deploy hook (sh)", () => {
  it("drops the message whole as <time>.<pid>.<account>", () => {
    const hook = hookIn();
    hook.run("alice@chat.test");
    const [file, ...more] = hook.files();
    expect(more).toEqual([]);
    expect(file).toMatch(/^\d+\.\d+\.alice@chat\.test$/);
    expect(readFileSync(join(hook.inbox, file!), "utf8")).toBe("X-Chatbot-Deploy: 1\r\n\r\nfrom alice@chat.test\r\n");
  });

  it("an account that is empty, starts with a dot or holds a slash is dropped, and still exits 0", () => {
    const hook = hookIn();
    for (const account of ["", ".hidden@chat.test", "../x@chat.test", "a/b@chat.test"]) hook.run(account);
    expect(hook.files()).toEqual([]);
  });

  it(`keeps at most DEPLOY_INBOX_FILES_PER_ACCOUNT (${DEPLOY_INBOX_FILES_PER_ACCOUNT}) files of one account; another account still gets in`, () => {
    const hook = hookIn();
    for (let i = 0; i < DEPLOY_INBOX_FILES_PER_ACCOUNT + 3; i++) hook.run("flood@chat.test");
    hook.run("bob@chat.test");
    const files = hook.files();
    expect(files.filter((f) => f.endsWith(".flood@chat.test"))).toHaveLength(DEPLOY_INBOX_FILES_PER_ACCOUNT);
    expect(files.filter((f) => f.endsWith(".bob@chat.test"))).toHaveLength(1);
  });

  it("a file still being written (.name) counts for its account; files of an account whose name ends with this one's do not", () => {
    const hook = hookIn();
    for (let i = 0; i < DEPLOY_INBOX_FILES_PER_ACCOUNT; i++) writeFileSync(join(hook.inbox, `.1.${i}.carol@chat.test`), "partial");
    hook.run("carol@chat.test");
    for (let i = 0; i < DEPLOY_INBOX_FILES_PER_ACCOUNT; i++) writeFileSync(join(hook.inbox, `1.${i}.x.victim@chat.test`), "x");
    hook.run("victim@chat.test");
    expect(hook.files().filter((f) => !f.startsWith(".") && !f.includes(".x."))).toEqual([expect.stringMatching(/^\d+\.\d+\.victim@chat\.test$/)]);
  });

  it(`leaves the inbox alone at DEPLOY_INBOX_FILES_MAX (${DEPLOY_INBOX_FILES_MAX}) files in all`, () => {
    const hook = hookIn();
    for (let i = 0; i < DEPLOY_INBOX_FILES_MAX; i++) writeFileSync(join(hook.inbox, `1.${i}.u${i}@chat.test`), "x");
    hook.run("late@chat.test");
    expect(hook.files()).toHaveLength(DEPLOY_INBOX_FILES_MAX);
    expect(hook.files().some((f) => f.endsWith("late@chat.test"))).toBe(false);
  });

  it("an inbox path with spaces, quotes and $ is one word: the file lands there and nothing runs", () => {
    const hook = hookIn(`in box 'q' $(touch pwned) \`touch pwned2\``);
    hook.run("dave@chat.test");
    expect(hook.files()).toEqual([expect.stringMatching(/\.dave@chat\.test$/)]);
    expect(readdirSync(hook.work).sort()).toEqual(["chatbot-deploy", `in box 'q' $(touch pwned) \`touch pwned2\``]);
  });

  it("shellWord quotes for sh", () => {
    expect(shellWord("/var/lib/chatbot-deploy")).toBe("'/var/lib/chatbot-deploy'");
    expect(execFileSync("/bin/sh", ["-c", `printf %s ${shellWord("it's $HOME `x`")}`], { encoding: "utf8" })).toBe("it's $HOME `x`");
  });
});
