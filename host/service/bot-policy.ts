// The host's rules around a bot's events (issue 4): per-user limits with one notice per window,
// the bot's CPU budget (over it, events wait in the spool), and consent — /stop and /start are
// answered by the host, and the bot writes only to people and groups that wrote to it.
import { join } from "node:path";
import type { Action } from "../../std/contract.js";
import type { BotLimits, PerUserLimits } from "../../core/limits.js";
import { UserUsage } from "../policy/user-limits.js";
import { CpuBudget } from "../policy/cpu-budget.js";
import { Consent, consentCommand, consentReply, type ConsentCode } from "../policy/consent.js";
import { REPORT_TEXT, reportCommand } from "../policy/report-command.js";
import type { Clock } from "../../core/clock.js";

/** One bot's policy state (files in its account folder) and its per-user limits. */
export interface BotPolicy {
  usage: UserUsage;
  cpu: CpuBudget;
  consent: Consent;
  perUser: Readonly<PerUserLimits>;
}

/**
 * Open the policy state of the bot whose account folder is `dir`; `botLimits` is its CPU budget
 * (host.json `ceilings.bot`). With `deferWrites` the usage counters (per user, CPU) are written by
 * `flushBotPolicy`, not per event (user-limits.ts says what a crash can lose then).
 */
export function openBotPolicy(
  dir: string,
  perUser: Readonly<PerUserLimits>,
  botLimits: Readonly<BotLimits>,
  clock: Clock,
  options: { deferWrites?: boolean } = {},
): BotPolicy {
  return {
    usage: new UserUsage(join(dir, "usage.json"), clock, undefined, options),
    cpu: new CpuBudget(join(dir, "cpu-budget.json"), clock, botLimits, options),
    consent: new Consent(join(dir, "consent.json"), clock),
    perUser,
  };
}

/**
 * The rules the event pipeline (event-pipeline.ts) applies: a BotPolicy, whose CPU budget is the
 * relay operator's alone — a bot run on the author's machine has per-user limits and consent but none.
 */
export type EventPolicy = Omit<BotPolicy, "cpu"> & { cpu?: CpuBudget };

/**
 * The policy of a bot run on the author's machine (`chatbot run`/`dev`, the test kit): the manifest's
 * per-user limits and consent as on the relay, kept in memory (nothing written), no CPU budget.
 */
export function openLocalPolicy(perUser: Readonly<PerUserLimits>, clock: Clock): EventPolicy {
  return { usage: new UserUsage(null, clock), consent: new Consent(null, clock), perUser };
}

/** Write the usage counters a policy opened with `deferWrites` holds back. */
export async function flushBotPolicy(policy: BotPolicy): Promise<void> {
  await Promise.all([policy.usage.flush(), policy.cpu.flush()]);
}

/** Why the host answered instead of the bot, as data (metrics count it; `reason` says it in words). */
export type Refusal = { kind: "consent"; command: "stop" | "start" } | { kind: "per-user-limit"; limit: keyof PerUserLimits } | { kind: "report" };

/** What the gate decided for an incoming event. */
export type GateDecision =
  | { kind: "run" }
  /** The host answers instead of the bot (consent command, or a limit notice); `text` may be empty (silent). */
  | { kind: "answer"; text: string; reason: string; refusal: Refusal }
  /** Not now: keep the mail in the spool until `until` (ms since epoch). */
  | { kind: "defer"; until: number; reason: string };

const LIMIT_WORDS: Record<keyof PerUserLimits, string> = {
  mailsPerHour: "messages per hour",
  mailsPerDay: "messages per day",
  bytesPerHour: "bytes per hour",
  cpuMsPerHour: "ms of computing per hour",
};

/** Decide whether the bot may handle a message from `sender` in `chatId` (1:1 when chatId is the sender). */
export async function gateEvent(policy: EventPolicy, sender: string, chatId: string, text: string, bytes: number): Promise<GateDecision> {
  // A report is the host's to take, in a 1:1 chat, before anything else (report-command.ts).
  const report = chatId === sender ? reportCommand(text) : undefined;
  if (report !== undefined) {
    return { kind: "answer", text: REPORT_TEXT, reason: `report: ${report || "(no words given)"}`, refusal: { kind: "report" } };
  }
  const command = chatId === sender ? consentCommand(text) : undefined;
  if (command) {
    const changed = command === "stop" ? await policy.consent.stop(sender) : await policy.consent.start(sender);
    if (command === "start") await policy.consent.noteIncoming(chatId, sender);
    return { kind: "answer", text: consentReply(command, changed), reason: `consent: /${command}`, refusal: { kind: "consent", command } };
  }
  const cpu = await policy.cpu?.check();
  if (cpu && !cpu.allowed) return { kind: "defer", until: cpu.resumesAt, reason: `bot CPU budget ${cpu.limit} used up` };
  const verdict = await policy.usage.check(sender, policy.perUser, { bytes });
  if (!verdict.allowed) {
    const when = Number.isFinite(verdict.resetsAt)
      ? `It answers again after ${new Date(verdict.resetsAt).toISOString().slice(0, 16).replace("T", " ")} UTC.`
      : "This message is too large for it.";
    const text = verdict.notify ? `You reached this bot's limit of ${verdict.value} ${LIMIT_WORDS[verdict.limit]}. ${when}` : "";
    return {
      kind: "answer",
      text,
      reason: `per-user limit ${verdict.limit} (${verdict.used}/${verdict.value})`,
      refusal: { kind: "per-user-limit", limit: verdict.limit },
    };
  }
  await policy.consent.noteIncoming(chatId, sender);
  return { kind: "run" };
}

/** Count a finished event against the user's limits and the bot's CPU budget. */
export async function recordEvent(policy: EventPolicy, sender: string | undefined, bytes: number, cpuMs: number): Promise<void> {
  if (sender) await policy.usage.record(sender, { mails: 1, bytes, cpuMs });
  await policy.cpu?.record(cpuMs);
}

/** An action the consent rules hold back: its chat and type, for add-member the person, and why (ConsentCode). */
export interface RefusedAction {
  chatId: string;
  type: string;
  addr?: string;
  code: ConsentCode;
}

/**
 * The bot's actions it may carry out: only into chats that wrote to it and have not sent /stop.
 * add-member (DESIGN §3.1) needs that for the group and, for the person added, a 1:1 message to the
 * bot and no /stop since (Consent.addRefusal); whether the bot is in the group and knows their key
 * is checked when the mail is composed (host/wire/outbound.ts: E_NOT_IN_CHAT, E_NO_KEY). Each
 * refusal carries its code (E_NO_CONSENT, E_STOPPED), which the relay logs under `noConsent`.
 * `indices` are the run's indices of the allowed actions (their Message-IDs, see mailsForActions).
 */
export async function permittedActions(
  policy: Pick<EventPolicy, "consent">,
  actions: readonly Action[],
): Promise<{ allowed: Action[]; indices: number[]; refused: RefusedAction[] }> {
  const allowed: Action[] = [];
  const indices: number[] = [];
  const refused: RefusedAction[] = [];
  for (const [index, action] of actions.entries()) {
    const code =
      (await policy.consent.writeRefusal(action.chatId)) ?? (action.type === "add-member" ? await policy.consent.addRefusal(action.addr) : undefined);
    if (code === undefined) {
      allowed.push(action);
      indices.push(index);
    } else {
      refused.push({ chatId: action.chatId, type: action.type, ...(action.type === "add-member" ? { addr: action.addr } : {}), code });
    }
  }
  return { allowed, indices, refused };
}
