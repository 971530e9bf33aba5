// The failure table (host/service/failure-class.ts), one test per row, through the real HostService:
// a real error of that kind is thrown where the service meets it (the SMTP submit of a journaled
// reply; the bot really ran in the sandbox), the clock is fake, and the spool shows what was decided —
// retried with backoff and its attempts counted, or dead-lettered at once with its code and reason.
// SMTP errors come from nodemailer talking to a real SMTP server that answers like chatmail.
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatbotError, isChatbotError, type ErrorCode } from "../../../core/errors.js";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import {
  FAILURE_TABLE,
  attemptsAllowed,
  classifyFailure,
  deadLetterReason,
  failureKind,
  type FailureKind,
  type FailureRule,
} from "../../../host/service/failure-class.js";
import { backoffMs } from "../../../host/service/retry-policy.js";
import { assertEncryptedMime } from "../../../host/wire/filtermail-check.js";
import { checkMimeType } from "../../../host/wire/mime/header-format.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { createSmtpSubmitter } from "../../../host/wire/smtp-submit.js";
import { startScriptedSmtp, type ScriptedSmtp, type SmtpScript } from "../../support/scripted-smtp.js";
import { serviceHost } from "../../support/service-host.js";
import { unusedPort } from "../../support/test-servers.js";
import { newIdentity } from "../../support/user-mail.js";

const USER = "alice@chat.test";
const BOT = "bot@chat.test";
/** A small mail for the SMTP exchanges that produce real nodemailer errors. */
const MAIL = { from: BOT, recipients: [USER], raw: "From: bot@chat.test\r\nTo: alice@chat.test\r\nSubject: hi\r\n\r\nhello\r\n", messageId: "<hi@chat.test>" };

let executor: Executor;
let alice: BotIdentity;
let relay: ScriptedSmtp;
let host: Awaited<ReturnType<typeof serviceHost>>;

beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  [alice, relay] = await Promise.all([newIdentity(USER), startScriptedSmtp(), executor.warmUp()]);
  host = await serviceHost({ executor, sender: { addr: USER, identity: alice } });
});

afterAll(async () => {
  await Promise.all([executor?.close(), relay?.close()]);
});

/** What `fn` throws (or rejects with); fails the test when it succeeds. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure, but it succeeded");
}

/** The error nodemailer rejects with when `server` answers as `script` says (a fresh connection each time). */
async function smtpError(script: SmtpScript, mail: Partial<typeof MAIL> = {}, server: ScriptedSmtp = relay, port = server.port): Promise<unknown> {
  server.script = script;
  const submitter = createSmtpSubmitter({ host: "127.0.0.1", port, secure: false, user: BOT, password: "bot-password-123", allowSelfSigned: true });
  try {
    return await thrown(() => submitter.submit({ ...MAIL, ...mail }));
  } finally {
    submitter.close();
  }
}

/** A real error of every kind that is not one of our codes. */
const REAL: Record<Exclude<FailureKind, ErrorCode>, () => Promise<unknown>> = {
  // chatmail's filtermail send-rate limit, answered to MAIL FROM.
  SMTP_4XX: () => smtpError({ mailFrom: { code: 450, text: `4.7.1: Too much mail from <${BOT}>` } }),
  SMTP_503: () => smtpError({ data: { code: 503, text: "5.5.1 Error: bad sequence of commands" } }),
  // Postfix with Dovecot SASL, for a wrong password.
  SMTP_AUTH: () => smtpError({ auth: { code: 535, text: "5.7.8 Error: authentication failed" } }),
  // filtermail's refusal of mail that is not encrypted.
  SMTP_5XX: () => smtpError({ data: { code: 523, text: "Encryption Needed: Invalid Unencrypted Mail" } }),
  SMTP_CONNECTION: async () => smtpError({}, {}, relay, await unusedPort()),
  SMTP_ENVELOPE: () => smtpError({}, { recipients: [] }),
  NETWORK: async () => {
    const port = await unusedPort();
    return new Promise((resolve) => connect(port, "127.0.0.1").on("error", resolve));
  },
  // A full disk, for real.
  FS: () => thrown(() => writeFile("/dev/full", "x")),
  UNKNOWN: () => thrown(() => JSON.parse("{")),
};

/** A real error of `kind`: our codes are ChatbotErrors (from the real function where one line makes it). */
async function realError(kind: FailureKind): Promise<unknown> {
  if (kind === "E_FILTERMAIL_CHECK") return thrown(() => assertEncryptedMime("From: bot@chat.test\r\n\r\nnot encrypted\r\n"));
  if (kind === "E_MAIL_COMPOSE") return thrown(() => checkMimeType("not a type"));
  if (kind in REAL) return REAL[kind as keyof typeof REAL]();
  return new ChatbotError(kind as ErrorCode, `a failure of kind ${kind}`);
}

/** How the service writes the error into lastError and the dead letter. */
function described(error: unknown): string {
  return isChatbotError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

/** The entry `id` in the spool (undefined once it left). */
async function waiting(id: string) {
  return (await host.spool.all()).find((entry) => entry.id === id);
}

/** The entry `id` in spool/dead. */
async function dead(id: string) {
  return (await host.spool.deadLetters()).find((entry) => entry.id === id);
}

const ROWS = Object.entries(FAILURE_TABLE) as Array<[FailureKind, FailureRule]>;

describe("failure table: every row, a real error through HostService", () => {
  for (const [kind, rule] of ROWS) {
    const outcome =
      rule.action === "settle"
        ? "dead-lettered at once with its code"
        : rule.action === "retry-once"
          ? "retried once with backoff, then dead-lettered"
          : "retried with backoff, attempts counted, then delivered";
    it(`${kind} (${rule.action}): ${outcome}`, async () => {
      const error = await realError(kind);
      expect(failureKind(error)).toBe(kind);
      const entry = await host.deliver(`row ${kind}`);
      const submits = host.smtp.submits;
      host.smtp.plan(submits + 1, { fail: error as Error });
      await host.service.drainOnce();
      expect(host.smtp.submits).toBe(submits + 1);

      if (rule.action === "settle") {
        expect(await waiting(entry.id)).toBeUndefined();
        expect(await dead(entry.id)).toMatchObject({
          attempts: 1,
          lastError: described(error),
          reason: deadLetterReason(kind, `after 1 attempt: ${described(error)}`),
        });
        expect(host.logs).toContainEqual({
          event: "spool.dead",
          bot: BOT,
          entry: entry.id,
          code: kind,
          attempts: 1,
          reason: (await dead(entry.id))!.reason,
          why: rule.why,
        });
        // Never tried again.
        host.clock.advance(backoffMs(1));
        await host.service.drainOnce();
        expect(host.smtp.submits).toBe(submits + 1);
        return;
      }

      const firstAt = host.clock.now();
      expect(await waiting(entry.id)).toMatchObject({ attempts: 1, nextAttemptAt: firstAt + backoffMs(1), lastError: described(error) });
      expect(host.logs).toContainEqual(
        expect.objectContaining({ event: "spool.retry", entry: entry.id, code: kind, attempts: 1, nextAttemptAt: firstAt + backoffMs(1) }),
      );
      // Not before its backoff.
      host.clock.advance(backoffMs(1) - 1);
      await host.service.drainOnce();
      expect(host.smtp.submits).toBe(submits + 1);
      // The same failure again.
      host.smtp.plan(submits + 2, { fail: error as Error });
      host.clock.advance(1);
      await host.service.drainOnce();
      expect(host.smtp.submits).toBe(submits + 2);

      if (rule.action === "retry-once") {
        expect(await waiting(entry.id)).toBeUndefined();
        expect(await dead(entry.id)).toMatchObject({ attempts: 2, reason: deadLetterReason(kind, `after 2 attempts: ${described(error)}`) });
        expect(host.logs).toContainEqual(expect.objectContaining({ event: "spool.dead", entry: entry.id, code: kind, attempts: 2 }));
        return;
      }
      const secondAt = host.clock.now();
      expect(await waiting(entry.id)).toMatchObject({ attempts: 2, nextAttemptAt: secondAt + backoffMs(2) });
      // Once the cause is gone, the journaled reply goes out.
      host.clock.advance(backoffMs(2));
      await host.service.drainOnce();
      expect(await waiting(entry.id)).toBeUndefined();
      expect(await dead(entry.id)).toBeUndefined();
      expect(host.smtp.submits).toBe(submits + 3);
      expect(host.smtp.accepted.at(-1)?.recipients).toEqual([USER]);
    });
  }
});

describe("failure table: reading the codes", () => {
  it("an SMTP reply decides by its class; a login refused is a login, whatever its class; a reply outranks nodemailer's code", () => {
    const smtp = (responseCode: number, code = "EMESSAGE") => Object.assign(new Error("x"), { responseCode, code });
    expect([421, 450, 451, 452, 454].map((reply) => failureKind(smtp(reply)))).toEqual(["SMTP_4XX", "SMTP_4XX", "SMTP_4XX", "SMTP_4XX", "SMTP_4XX"]);
    expect([500, 523, 550, 552, 553, 554].map((reply) => failureKind(smtp(reply)))).toEqual(Array(6).fill("SMTP_5XX"));
    expect(failureKind(smtp(535, "EAUTH"))).toBe("SMTP_AUTH");
    expect(failureKind(smtp(454, "EAUTH"))).toBe("SMTP_AUTH");
    expect(failureKind(smtp(550, "EENVELOPE"))).toBe("SMTP_5XX");
    expect(failureKind(smtp(450, "EENVELOPE"))).toBe("SMTP_4XX");
    expect(failureKind(smtp(503))).toBe("SMTP_503");
  });

  it("only codes are read: a message that looks like a reply is still UNKNOWN, and a code on the prototype is not the error's", () => {
    expect(failureKind(new Error("550 5.7.1 rejected"))).toBe("UNKNOWN");
    expect(failureKind(Object.create({ code: "ENOSPC" }))).toBe("UNKNOWN");
    expect(failureKind("ENOSPC")).toBe("UNKNOWN");
    expect(failureKind(Object.assign(new Error("x"), { code: "constructor" }))).toBe("UNKNOWN");
  });

  it("settle gives one attempt, retry-once two (never more than the host allows), retry the host's maxAttempts", () => {
    expect([attemptsAllowed("settle", 10), attemptsAllowed("retry-once", 10), attemptsAllowed("retry", 10)]).toEqual([1, 2, 10]);
    expect(attemptsAllowed("retry-once", 1)).toBe(1);
    expect(classifyFailure(new ChatbotError("E_RUNNER", "crashed"))).toEqual({ kind: "E_RUNNER", ...FAILURE_TABLE.E_RUNNER });
  });
});
