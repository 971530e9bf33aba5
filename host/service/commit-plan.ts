// The one commit point of an event: where a plan's new bot state is saved and its incoming
// Message-ID (or tick) is marked seen. The host service's entry pipeline and handle-mail.ts's
// handleMail/handleTick both commit here, after planning and before any mail goes out; applyPlan
// only submits.
import type { StateIo } from "../policy/state-io.js";
import type { MailPlan } from "./handle-mail.js";
import type { HostedBot } from "./hosted-bot.js";
import type { StateAfter } from "./event-pipeline.js";

/** A plan after its commit: nothing left to save, only mails to submit. JSON-safe, like MailPlan. */
export type CommittedPlan = Omit<MailPlan, "seen" | "state" | keyof StateAfter> & { state: null };

/** What a commit tells besides the bot's own files (the host service's; none in single-shot use). */
export interface CommitEffects {
  /** The bot's state IO (host/policy/state-io.ts): each save is counted there. */
  stateIo?: Pick<StateIo, "record">;
  /** The bot's state changed on disk: the state mirror copies it into the account (state-mirror.ts). */
  markDirty?: (addr: string) => void;
}

/**
 * Save a plan's new state and mark its mail seen before any of its mails go out, and return the
 * plan without them (the host service journals that). Done later, after SMTP, an entry waiting for
 * SMTP (backoff) would let the bot's next mail run on the state from before it, and its retry would
 * then overwrite that mail's state; a re-delivered copy would run the bot again.
 * Safe against a crash: the bot never runs again for a journaled entry, and a crash before the
 * second journal write re-saves the same state on resume (the oldest ready entry goes first).
 */
export async function commitPlan(bot: HostedBot, plan: MailPlan, effects: CommitEffects = {}): Promise<CommittedPlan> {
  if (plan.state) {
    // Counted as what was written (the changes appended, or the whole state as JSON), one write per save.
    const bytes = await bot.state.save(plan.state, plan.stateToken, plan.stateChanges);
    effects.stateIo?.record(bytes);
    effects.markDirty?.(bot.account.addr);
  }
  if (plan.seen) await bot.account.seen.add(plan.seen.sender, plan.seen.messageId);
  const { seen: _seen, stateToken: _stateToken, stateChanges: _stateChanges, ...rest } = plan;
  return { ...rest, state: null };
}
