// One incoming mail for a hosted bot, all the way: receive (decrypt, verify, parse) → SecureJoin
// reply, group update, or an event in the sandbox → the bot's actions as encrypted mails → SMTP.
// State is saved only after every mail of the event was accepted by SMTP.
import type { Executor } from "../executor/executor.js";
import type { RunResult } from "../executor/run-types.js";
import { receiveMail } from "../wire/inbound.js";
import { mailsForActions, type OutboundResult } from "../wire/outbound.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import type { HostedBot } from "./hosted-bot.js";

/** A structured log line (JSON lines in `chatbot host logs`). */
export type LogLine = Record<string, unknown> & { event: string };

/** What the handler needs from the host. */
export interface MailHandlerDeps {
  executor: Executor;
  submitter: SmtpSubmitter;
  log: (line: LogLine) => void;
  /** Largest mail parsed, bytes. */
  maxMailBytes: number;
}

/** What happened to one mail. */
export interface MailReport {
  outcome: "dropped" | "handshake" | "group-update" | "held" | "ran";
  sent: number;
  /** Why a mail was dropped or held. */
  reason?: string;
  result?: RunResult;
}

/** Handle one raw incoming mail for `bot`. Rejects only for temporary failures (SMTP, runner). */
export async function handleMail(bot: HostedBot, raw: Uint8Array, deps: MailHandlerDeps): Promise<MailReport> {
  const { account } = bot;
  const inbound = await receiveMail(account, raw, { maxBytes: deps.maxMailBytes });
  switch (inbound.kind) {
    case "drop":
      deps.log({ event: "mail.dropped", bot: account.addr, reason: inbound.reason });
      return { outcome: "dropped", sent: 0, reason: inbound.reason };
    case "held":
      deps.log({ event: "mail.held", bot: account.addr, reason: inbound.reason });
      return { outcome: "held", sent: 0, reason: inbound.reason };
    case "group-update":
      deps.log({ event: "group.update", bot: account.addr, detail: inbound.log });
      return { outcome: "group-update", sent: 0 };
    case "handshake":
      for (const mail of inbound.outcome.replies) await deps.submitter.submit(mail);
      deps.log({ event: "securejoin", bot: account.addr, detail: inbound.outcome.log });
      return { outcome: "handshake", sent: inbound.outcome.replies.length };
    case "event": {
      const state = await bot.state.load();
      // Known before the run: the sandbox hands the bot the Message-IDs its mails will carry.
      const eventKey = inbound.key;
      const result = await deps.executor.run({
        bundle: bot.bundle,
        event: inbound.event,
        attachments: inbound.attachments,
        state,
        limits: { ...bot.limits },
        nowMs: account.now(),
        fetch: { allowOrigins: [...bot.origins], allowHttpLoopback: false },
        messageIds: { botAddr: account.addr, eventKey },
      });
      const outbound: OutboundResult = result.status === "ok" ? await mailsForActions(account, result.actions, eventKey) : { mails: [], skipped: [] };
      for (const mail of outbound.mails) {
        await deps.submitter.submit(mail);
        // Only what SMTP accepted may later be deleted or resent (a resend is already stored).
        if (mail.fresh) await account.sent.record({ messageId: mail.messageId, chatId: mail.chatId, from: mail.from, recipients: mail.recipients, raw: mail.raw });
      }
      if (result.state) await bot.state.save(result.state);
      deps.log({
        event: "bot.event",
        bot: account.addr,
        from: inbound.sender,
        status: result.status,
        cpuMs: result.cpuMs,
        wallMs: result.wallMs,
        memoryBytes: result.memoryBytes,
        sent: outbound.mails.length,
        ...(outbound.skipped.length ? { skipped: outbound.skipped } : {}),
        ...(result.error ? { error: result.error.code, message: result.error.message } : {}),
      });
      return { outcome: "ran", sent: outbound.mails.length, result };
    }
  }
}
