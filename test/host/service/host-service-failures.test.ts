// Failures the bot causes are settled, failures of the relay are retried (issue 9, defects 5 and 6),
// end to end through HostService: a sandbox runner that really dies on the bot's event, one that never
// starts, a bot that runs into its CPU limit, and a real SMTP server answering like chatmail.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../host/cli/main.js";
import { Executor } from "../../../host/executor/executor.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { backoffMs } from "../../../host/service/retry-policy.js";
import { createSmtpSubmitter } from "../../../host/wire/smtp-submit.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { captureIo } from "../../support/cli-io.js";
import { startScriptedSmtp, type ScriptedSmtp } from "../../support/scripted-smtp.js";
import { serviceHost } from "../../support/service-host.js";
import { newIdentity } from "../../support/user-mail.js";

const USER = "alice@chat.test";
const BOT = "bot@chat.test";
const runner = (name: string) => fileURLToPath(new URL(`../../fixtures/runners/${name}`, import.meta.url));

let alice: BotIdentity;
const closing: Array<() => Promise<void>> = [];

beforeAll(async () => {
  alice = await newIdentity(USER);
});

afterAll(async () => {
  await Promise.all(closing.map((close) => close()));
});

/** An executor closed after the tests. */
function executor(runnerPath?: string): Executor {
  const made = new Executor(runnerPath ? { runnerPath } : {});
  closing.push(() => made.close());
  return made;
}

/** Write the service's log lines where `host serve` writes them, stamped `atMs`. */
function writeLog(data: string, lines: readonly HostEvent[], atMs: number): void {
  mkdirSync(join(data, "logs"), { recursive: true });
  writeFileSync(join(data, "logs", "host.jsonl"), lines.map((line) => `${JSON.stringify({ at: new Date(atMs).toISOString(), ...line })}\n`).join(""));
}

describe("host service: the bot's own failures settle", () => {
  it("a bot whose event kills the sandbox runner is run twice at most, then dead-lettered with E_RUNNER; host bots shows it", async () => {
    const host = await serviceHost({ executor: executor(runner("dies-on-run.mjs")), sender: { addr: USER, identity: alice } });
    const entry = await host.deliver("crash it");
    await host.service.drainOnce();
    expect(await host.spool.all()).toMatchObject([
      { id: entry.id, attempts: 1, nextAttemptAt: host.clock.now() + backoffMs(1), lastError: "E_RUNNER: runner exited (134)" },
    ]);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.retry", code: "E_RUNNER", attempts: 1 }));

    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    const reason = "[E_RUNNER] after 2 attempts: E_RUNNER: runner exited (134)";
    expect(await host.spool.deadLetters()).toMatchObject([{ id: entry.id, attempts: 2, reason }]);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.dead", bot: BOT, entry: entry.id, code: "E_RUNNER", attempts: 2, reason }));
    // Not tried a third time, however long the host waits.
    host.clock.advance(backoffMs(10));
    expect(await host.service.drainOnce()).toBe(0);

    writeLog(host.data, host.logs, host.clock.now());
    const io = captureIo(host.work);
    expect(await runCli(["host", "bots", "--json", "--now", new Date(host.clock.now()).toISOString(), "--data-dir", host.data], io)).toBe(0);
    const [status] = (JSON.parse(io.out) as { bots: Array<{ usage: { lastError: { event: string; detail: string } }; spool: unknown }> }).bots;
    expect(status!.usage.lastError).toMatchObject({ event: "spool.dead", detail: reason });
    expect(status!.spool).toEqual({ waiting: 0, dead: 1, lastDeadReason: reason });
  });

  it("a runner that never starts is the host's failure, not the bot's: the mail is retried with backoff and not dead-lettered after two tries", async () => {
    const host = await serviceHost({ executor: executor(runner("dies-at-start.mjs")), sender: { addr: USER, identity: alice } });
    const entry = await host.deliver("hello");
    for (let attempt = 1; attempt <= 3; attempt++) {
      await host.service.drainOnce();
      expect(await host.spool.all()).toMatchObject([{ id: entry.id, attempts: attempt, nextAttemptAt: host.clock.now() + backoffMs(attempt) }]);
      host.clock.advance(backoffMs(attempt));
    }
    expect(host.logs.filter((line) => line.event === "spool.retry").map((line) => line.code)).toEqual([
      "E_RUNNER_UNAVAILABLE",
      "E_RUNNER_UNAVAILABLE",
      "E_RUNNER_UNAVAILABLE",
    ]);
    expect(await host.spool.deadLetters()).toEqual([]);
  });

  it("a bot that runs into its CPU limit is settled at once: run once, its mail consumed, never retried", async () => {
    const host = await serviceHost({
      executor: executor(),
      sender: { addr: USER, identity: alice },
      source: `import { defineBot } from "chatbot/std";
export default defineBot({ async message() { for (;;) {} } });
`,
      manifest: { limits: { cpuMsPerEvent: 50 } },
    });
    const entry = await host.deliver("spin");
    expect(await host.service.drainOnce()).toBe(1);
    expect(host.logs.filter((line) => line.event === "bot.event")).toEqual([
      expect.objectContaining({ status: "cpu-limit", error: "E_LIMIT_cpuMsPerEvent", sent: 0 }),
    ]);
    expect(await host.spool.all()).toEqual([]);
    expect((await host.spool.deadLetters()).map((dead) => dead.id)).not.toContain(entry.id);
    host.clock.advance(backoffMs(1));
    expect(await host.service.drainOnce()).toBe(0);
    expect(host.logs.filter((line) => line.event === "bot.event" || line.event === "spool.retry")).toHaveLength(1);
  });
});

describe("host service with a real SMTP server answering like chatmail", () => {
  let relay: ScriptedSmtp;
  let sandbox: Executor;

  beforeAll(async () => {
    sandbox = executor();
    [relay] = await Promise.all([startScriptedSmtp(), sandbox.warmUp()]);
    closing.push(() => relay.close());
  });

  /** A host whose bot submits to the scripted relay (STARTTLS, login as the bot); stopped (its SMTP connection closed) after the tests. */
  const relayHost = async () => {
    const host = await serviceHost({
      executor: sandbox,
      sender: { addr: USER, identity: alice },
      submitter: createSmtpSubmitter({ host: "127.0.0.1", port: relay.port, secure: false, user: BOT, password: "bot-password-123", allowSelfSigned: true }),
    });
    closing.push(() => host.service.stop());
    return host;
  };

  it("523 Encryption Needed (permanent): the mail is dead-lettered after one attempt, and the relay saw one DATA", async () => {
    const host = await relayHost();
    relay.script = { data: { code: 523, text: "Encryption Needed: Invalid Unencrypted Mail" } };
    const before = relay.commands.filter((command) => command === "DATA").length;
    const entry = await host.deliver("hello");
    await host.service.drainOnce();
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(relay.commands.filter((command) => command === "DATA").length - before).toBe(1);
    expect(await host.spool.all()).toEqual([]);
    const [dead] = await host.spool.deadLetters();
    expect(dead).toMatchObject({ id: entry.id, attempts: 1 });
    expect(dead!.reason).toMatch(/^\[SMTP_5XX\] after 1 attempt: .*523 Encryption Needed: Invalid Unencrypted Mail/);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.dead", code: "SMTP_5XX", attempts: 1 }));
  });

  it("450 4.7.1 Too much mail (chatmail's send-rate limit): retried with backoff, then delivered once the relay takes mail again", async () => {
    const host = await relayHost();
    relay.script = { mailFrom: { code: 450, text: `4.7.1: Too much mail from <${BOT}>` } };
    const accepted = relay.accepted.length;
    const entry = await host.deliver("hello");
    await host.service.drainOnce();
    expect(await host.spool.all()).toMatchObject([{ id: entry.id, attempts: 1, nextAttemptAt: host.clock.now() + backoffMs(1) }]);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.retry", code: "SMTP_4XX", attempts: 1 }));
    relay.script = {};
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(await host.spool.deadLetters()).toEqual([]);
    expect(relay.accepted.length - accepted).toBe(1);
  });

  it("535 5.7.8 (the bot's password refused): the mail waits with backoff for the operator, it is not dead-lettered at once", async () => {
    const host = await relayHost();
    relay.script = { auth: { code: 535, text: "5.7.8 Error: authentication failed" } };
    const entry = await host.deliver("hello");
    await host.service.drainOnce();
    expect(await host.spool.all()).toMatchObject([{ id: entry.id, attempts: 1 }]);
    expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.retry", code: "SMTP_AUTH", attempts: 1 }));
    relay.script = {};
    host.clock.advance(backoffMs(1));
    await host.service.drainOnce();
    expect(await host.spool.all()).toEqual([]);
    expect(await host.spool.deadLetters()).toEqual([]);
  });
});
