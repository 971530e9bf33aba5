// The retry policy (host/service/retry-policy.ts) alone: backoff steps and the retry-or-dead-letter
// decision for each failure action of the table, as pure functions.
import { describe, expect, it } from "vitest";
import { ChatbotError, describeError } from "../../../core/errors.js";
import { backoffMs, decideRetry } from "../../../host/service/retry-policy.js";

const NOW = 1_700_000_000_000;
/** An SMTP reply error as nodemailer throws it. */
const smtpError = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

describe("retry policy", () => {
  it("backs off 1 s, 5 s, 30 s, 2 min, 10 min, then hourly", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000, 3_600_000]);
  });

  it("a retryable failure is retried at now + backoffMs(attempts) until maxAttempts, then dead-lettered with the attempt count", () => {
    const error = smtpError(451, "451 4.7.1 try again later");
    expect(decideRetry(error, 0, 3, NOW)).toEqual({
      action: "retry",
      kind: "SMTP_4XX",
      attempts: 1,
      reason: "451 4.7.1 try again later",
      nextAttemptAt: NOW + 1_000,
    });
    expect(decideRetry(error, 1, 3, NOW)).toMatchObject({ action: "retry", attempts: 2, nextAttemptAt: NOW + 5_000 });
    expect(decideRetry(error, 2, 3, NOW)).toMatchObject({
      action: "dead-letter",
      kind: "SMTP_4XX",
      attempts: 3,
      text: "after 3 attempts: 451 4.7.1 try again later",
    });
  });

  it("a settled failure is dead-lettered on its first attempt, with the table's why", () => {
    const decision = decideRetry(smtpError(523, "523 Encryption Needed"), 0, 10, NOW);
    expect(decision).toMatchObject({ action: "dead-letter", kind: "SMTP_5XX", attempts: 1, text: "after 1 attempt: 523 Encryption Needed" });
    expect(decision.action === "dead-letter" && decision.why).toMatch(/permanent reply/);
  });

  it("retry-once gets a second attempt and no third, whatever maxAttempts says", () => {
    const crash = new ChatbotError("E_RUNNER", "runner died");
    expect(decideRetry(crash, 0, 10, NOW)).toMatchObject({ action: "retry", kind: "E_RUNNER", attempts: 1, reason: "E_RUNNER: runner died" });
    expect(decideRetry(crash, 1, 10, NOW)).toMatchObject({ action: "dead-letter", attempts: 2, text: "after 2 attempts: E_RUNNER: runner died" });
    // maxAttempts 1 allows no retry at all.
    expect(decideRetry(crash, 0, 1, NOW)).toMatchObject({ action: "dead-letter", attempts: 1 });
  });

  it("names a failure by its code first, or by its message, or as a string", () => {
    expect(describeError(new ChatbotError("E_IMAP", "no answer"))).toBe("E_IMAP: no answer");
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError("plain")).toBe("plain");
  });
});
