// One incoming mail (or tick) for a hosted bot, in three steps so a crash anywhere loses nothing
// and sends nothing twice under a new Message-ID:
//   planMail  — receive (decrypt, verify, parse) → SecureJoin reply, group update, or an event in
//   planTick    the sandbox (event-pipeline.ts: admit, run, keep what consent permits, count,
//               settle — the steps `chatbot run`/`dev` and the test kit take too) → every mail to
//               send, the new state and the Message-ID to mark seen.
//               A plan is plain JSON: the service journals it in the spool entry before committing.
//               Planning writes the conversation's stores on the way (MailPlan lists them and says
//               why that is safe when an entry is planned again), never the bot's state, a seen
//               mark (except a held half's, which receiveMail records at once) or a mail.
//   commitPlan — save the new state, mark the Message-ID seen: the one commit point (commit-plan.ts).
//   applyPlan — submit the mails from where it stopped and remember the bot's own mails.
//               Re-applying a journaled plan after a crash resends at most the mails already
//               accepted, with the same Message-IDs, which clients drop as duplicates (PROTOCOL §6).
import type { Executor } from "../executor/executor.js";
import type { RunResult } from "../executor/run-types.js";
import type { Action } from "../../std/contract.js";
import { receiveMail, type SeenKey } from "../wire/inbound.js";
import { replayRefusal } from "../wire/replay-window.js";
import { mailsForActions, type ActionMail, type OutboundResult } from "../wire/outbound.js";
import type { BotPolicy } from "./bot-policy.js";
import type { OutgoingMail } from "../wire/bot-message.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import type { HostedBot } from "./hosted-bot.js";
import { admitEvent, eventOrigin, processEvent, runAdmitted, stateAfterOf, type DeliverStep, type PipelineBot, type StateAfter } from "./event-pipeline.js";
import type { HostLog } from "./host-event.js";
import { commitPlan, type CommittedPlan } from "./commit-plan.js";

/** What the handler needs from the host. */
export interface MailHandlerDeps {
  executor: Executor;
  submitter: SmtpSubmitter;
  log: HostLog;
  /** Largest mail parsed, bytes. */
  maxMailBytes: number;
  /** The host's rules (limits, CPU budget, consent); absent in tests of the wire path alone. */
  policy?: BotPolicy;
  /**
   * Resolves once the bot's earlier mails that are still being submitted are recorded as sent
   * (entry-pipeline.ts submits while it plans the next mail): awaited before a delete or resend,
   * which may name one of them.
   */
  sentSettled?: () => Promise<void>;
}

/** Wait for `deps.sentSettled` when an action refers to a mail the bot sent (delete, resend). */
async function settleBeforeReferences(deps: Pick<MailHandlerDeps, "sentSettled">, actions: readonly Action[]): Promise<void> {
  if (deps.sentSettled && actions.some((action) => action.type === "delete" || action.type === "resend")) await deps.sentSettled();
}

/** What happened to one mail. */
export interface MailReport {
  outcome: "dropped" | "handshake" | "group-update" | "held" | "ran" | "answered" | "deferred";
  sent: number;
  /** Why a mail was dropped or held. */
  reason?: string;
  result?: RunResult;
}

/** A mail of a plan, and whether it is the bot's own message to remember (for delete/resend). */
export interface PlannedMail extends OutgoingMail {
  remember?: { chatId: string };
}

/**
 * What an event still has to do: the mails to send, the bot's new state and the mark to record as
 * seen (commitPlan saves the last two, applyPlan sends the mails). JSON-safe.
 *
 * Computing it (planMail, planTick) has already written the stores that follow the conversation
 * rather than the bot's run: peers (Autocrypt and Gossip keys, SecureJoin), pending (a held half of
 * a split message, with that half's seen mark), groups (group updates, SecureJoin joins, an add
 * action), the bot-to-bot bound's counts (exchanges), and with a policy: consent (/stop, /start,
 * who wrote in which chat) and the usage and CPU counters. Safe when the same entry is planned
 * again (it was deferred, or its attempt failed before the journal write): each of those writes is
 * keyed (a peer by address, a half by post id, a group's members as a set, consent by address) and
 * stores the same again; the counters count the attempt again, whose run did happen. (An add action
 * planned again finds its member already added and skips that mail: E_ALREADY_MEMBER.)
 */
export interface MailPlan extends StateAfter {
  report: MailReport;
  mails: PlannedMail[];
  /** How many of `mails` SMTP has accepted (the journal's progress). */
  submitted: number;
  /** The bot's new state, when the event changed it; saved with its StateAfter (its token, its changes). */
  state: Record<string, string> | null;
  seen?: SeenKey;
  /** Set when the mail must wait in the spool (the bot's CPU budget is used up), ms since epoch. */
  deferUntil?: number;
}

/** Consent's /stop list as outbound's check: people who sent /stop get no group mail either (nobody is stopped without a policy). */
function stoppedCheck(policy: BotPolicy | undefined): (addr: string) => Promise<boolean> {
  return policy ? (addr) => policy.consent.isStopped(addr) : async () => false;
}

/**
 * Receive one raw mail and work out what to send; runs the bot when the mail is an event. Writes
 * the conversation's stores on the way (MailPlan), not the bot's state or the mail's seen mark.
 */
export async function planMail(bot: HostedBot, raw: Uint8Array, deps: MailHandlerDeps): Promise<MailPlan> {
  const { account } = bot;
  const inbound = await receiveMail(account, raw, { maxBytes: deps.maxMailBytes }, { deferSeen: true });
  const base = { submitted: 0, state: null, ...(inbound.seen ? { seen: inbound.seen } : {}) };
  switch (inbound.kind) {
    case "drop":
      // A quiet drop repeats one already logged (the bot-to-bot bound logs once per window).
      if (!inbound.quiet) deps.log({ event: "mail.dropped", bot: account.addr, reason: inbound.reason });
      return { ...base, report: { outcome: "dropped", sent: 0, reason: inbound.reason }, mails: [] };
    case "held":
      deps.log({ event: "mail.held", bot: account.addr, reason: inbound.reason });
      return { ...base, report: { outcome: "held", sent: 0, reason: inbound.reason }, mails: [] };
    case "group-update":
      deps.log({ event: "group.update", bot: account.addr, detail: inbound.log });
      return { ...base, report: { outcome: "group-update", sent: 0 }, mails: [] };
    case "handshake":
      deps.log({ event: "securejoin", bot: account.addr, detail: inbound.outcome.log });
      return { ...base, report: { outcome: "handshake", sent: inbound.outcome.replies.length }, mails: inbound.outcome.replies };
    case "event": {
      // Known before the run: the sandbox hands the bot the Message-IDs its mails will carry.
      const origin = eventOrigin(inbound.event, raw.byteLength, inbound.sender)!;
      let outbound: OutboundResult = { mails: [], skipped: [] };
      const outcome = await processEvent(
        pipelineBot(bot),
        { event: inbound.event, attachments: inbound.attachments, eventKey: inbound.key },
        deps,
        origin,
        async (ran) => {
          outbound = await composeKept(bot, deps, inbound.key, ran);
        },
      );
      if (outcome.kind === "defer") {
        deps.log({ event: "bot.deferred", bot: account.addr, from: inbound.sender, reason: outcome.reason, until: outcome.until });
        return { report: { outcome: "deferred", sent: 0, reason: outcome.reason }, mails: [], submitted: 0, state: null, deferUntil: outcome.until };
      }
      if (outcome.kind === "answer") {
        deps.log({
          event: "bot.refused",
          bot: account.addr,
          from: inbound.sender,
          reason: outcome.reason,
          notified: outcome.text !== "",
          refusal: outcome.refusal,
        });
        const notice = outcome.text
          ? await mailsForActions(account, [{ type: "send", chatId: inbound.sender, text: outcome.text }], `host-notice:${inbound.key}`)
          : { mails: [], skipped: [] };
        return { ...base, report: { outcome: "answered", sent: notice.mails.length, reason: outcome.reason }, mails: notice.mails.map(stripAction) };
      }
      const { result, refused } = outcome;
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
        ...(refused.length ? { noConsent: refused } : {}),
        ...(result.error ? { error: result.error.code, message: result.error.message } : {}),
      });
      const mails = outbound.mails.map(stripAction);
      return { ...base, state: outcome.state, ...stateAfterOf(outcome), report: { outcome: "ran", sent: mails.length, result }, mails };
    }
  }
}

/** A hosted bot as the event pipeline runs it: its account's address and clock, its state file. */
function pipelineBot(bot: HostedBot): PipelineBot {
  return {
    bundle: bot.bundle,
    limits: bot.limits,
    origins: bot.origins,
    addr: bot.account.addr,
    now: () => bot.account.now(),
    loadState: () => bot.state.loadWithToken(),
  };
}

/**
 * The relay's deliver step (event-pipeline.ts): the encrypted mails of the kept actions of an ok
 * run, after the bot's earlier mails a delete or resend may name are recorded as sent.
 */
async function composeKept(bot: HostedBot, deps: MailHandlerDeps, eventKey: string, ran: Parameters<DeliverStep>[0]): Promise<OutboundResult> {
  await settleBeforeReferences(deps, ran.kept);
  if (ran.result.status !== "ok") return { mails: [], skipped: [] };
  return mailsForActions(bot.account, ran.kept, eventKey, ran.indices, stoppedCheck(deps.policy));
}

/** An action's mail as a plan mail: the bot's own new messages are remembered for delete/resend. */
function stripAction({ index: _index, chatId, fresh, ...mail }: ActionMail): PlannedMail {
  return { ...mail, ...(fresh ? { remember: { chatId } } : {}) };
}

/**
 * A scheduled tick for `bot` at `at`: run its tick handler and work out what to send (no incoming
 * mail). Writes the policy's CPU counter and, for an add action, the group on the way (MailPlan);
 * the tick's seen mark is in the plan.
 */
export async function planTick(bot: HostedBot, at: number, deps: MailHandlerDeps): Promise<MailPlan> {
  const { account } = bot;
  // Admitted before the seen checks below, as always: a tick over the CPU budget waits even when it already ran.
  const admission = await admitEvent(deps.policy, undefined);
  if (admission.kind === "defer")
    return { report: { outcome: "deferred", sent: 0, reason: admission.reason }, mails: [], submitted: 0, state: null, deferUntil: admission.until };
  const eventKey = `tick:${at}`;
  // A crash between queueing a tick and noting it can queue the same tick twice: like a mail's
  // Message-ID, the tick's time is marked seen with its plan, and a second entry does not run.
  const seen = tickSeenKey(at);
  if (await account.seen.has(seen.sender, seen.messageId)) {
    return { report: { outcome: "dropped", sent: 0, reason: `the tick at ${new Date(at).toISOString()} already ran` }, mails: [], submitted: 0, state: null };
  }
  // Its mark may have been forgotten (the seen store is bounded): a tick older than what it
  // remembers may have run, like an old mail (replay-window.ts).
  const stale = replayRefusal(at, await account.seen.completeSince());
  if (stale)
    return { report: { outcome: "dropped", sent: 0, reason: `the tick at ${new Date(at).toISOString()}: ${stale}` }, mails: [], submitted: 0, state: null };
  let outbound: OutboundResult = { mails: [], skipped: [] };
  const ran = await runAdmitted(pipelineBot(bot), { event: { kind: "tick", at }, eventKey }, deps, undefined, async (kept) => {
    outbound = await composeKept(bot, deps, eventKey, kept);
  });
  const { result, refused, state } = ran;
  deps.log({
    event: "bot.tick",
    bot: account.addr,
    at,
    status: result.status,
    cpuMs: result.cpuMs,
    sent: outbound.mails.length,
    ...(outbound.skipped.length ? { skipped: outbound.skipped } : {}),
    ...(refused.length ? { noConsent: refused } : {}),
    ...(result.error ? { error: result.error.code, message: result.error.message } : {}),
  });
  const mails = outbound.mails.map(stripAction);
  return { report: { outcome: "ran", sent: outbound.mails.length, result }, mails, submitted: 0, state, ...stateAfterOf(ran), seen };
}

/** The seen mark of the tick at `at`: a sender no mail can have (no "@"), so it never meets a real Message-ID. */
export function tickSeenKey(at: number): SeenKey {
  return { sender: "host:tick", messageId: `<tick-${at}@chatbot.host>` };
}

/**
 * Submit a committed plan's mails from where it stopped, remembering the bot's own; `progress` is
 * told after each accepted mail (to journal it). Saves no state and no seen mark: commitPlan did.
 */
export async function applyPlan(
  bot: HostedBot,
  plan: CommittedPlan,
  deps: Pick<MailHandlerDeps, "submitter">,
  progress: (submitted: number) => Promise<void> = async () => {},
): Promise<void> {
  const { account } = bot;
  for (let i = plan.submitted; i < plan.mails.length; i++) {
    const mail = plan.mails[i]!;
    await deps.submitter.submit(mail);
    // Only what SMTP accepted may later be deleted or resent.
    if (mail.remember)
      await account.sent.record({ messageId: mail.messageId, chatId: mail.remember.chatId, from: mail.from, recipients: mail.recipients, raw: mail.raw });
    await progress(i + 1);
  }
}

/** Plan, commit and apply one mail at once (no journal): for tests and single-shot tools. */
export async function handleMail(bot: HostedBot, raw: Uint8Array, deps: MailHandlerDeps): Promise<MailReport> {
  const plan = await planMail(bot, raw, deps);
  await applyPlan(bot, await commitPlan(bot, plan), deps);
  return plan.report;
}

/** Plan, commit and apply one tick at once (no journal): for tests and single-shot tools. */
export async function handleTick(bot: HostedBot, at: number, deps: MailHandlerDeps): Promise<MailReport> {
  const plan = await planTick(bot, at, deps);
  await applyPlan(bot, await commitPlan(bot, plan), deps);
  return plan.report;
}
