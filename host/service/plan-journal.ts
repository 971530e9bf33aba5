// A plan as the spool journals it (entry-pipeline.ts), and back. Every journal write is JSON
// written, fsynced and renamed into the entry, and read whole at every pass over the spool, so it
// holds only what a resume needs:
// - not the run's result (MailReport.result: the bot's whole new state, its actions, its logs),
//   which only handleMail's callers read, from the plan in memory;
// - not the new state (up to stateBytes, 1 MiB of JSON) when the runner sent what the event changed
//   (StateAfter.stateChanges): those changes instead, applied on resume to the state on disk.
//   That is the state before the event (a crash before commitPlan's save) or the state after it (a
//   crash between the save and the second journal write): the same changes applied to either give
//   the state after. No later event of the bot has saved in between: its next entry runs only after
//   that second journal write, whose plan (commitPlan's) has no state and no changes.
// Measured with a bot writing one key per event into a ~900 KiB state (`MICRO_STATE_KEYS=1000 npx
// vite-node test/bench/serve-micro.ts`): the whole state was written three times per event (the
// plan's and the result's in the first write, the result's in the second); see the README's
// "Decisions" for the figures.
import { applyStateChanges } from "../executor/state-snapshot.js";
import type { CommittedPlan } from "./commit-plan.js";
import type { MailPlan, MailReport } from "./handle-mail.js";
import type { HostedBot } from "./hosted-bot.js";

/** A report as journaled: without the run's result. */
type JournaledReport = Omit<MailReport, "result">;

/** A plan as journaled; `stateFromChanges`: its new state is its `stateChanges` applied to the bot's state on disk. */
export type JournaledPlan = Omit<MailPlan, "report"> & { report: JournaledReport; stateFromChanges?: true };

/** What the spool journals for `plan` (a fresh plan, or a committed one with its progress). */
export function journalOf(plan: MailPlan | CommittedPlan): JournaledPlan {
  const { result: _result, ...report } = plan.report;
  const journaled = { ...plan, report };
  if (journaled.state === null || !("stateChanges" in journaled) || journaled.stateChanges === undefined) return journaled;
  return { ...journaled, state: null, stateFromChanges: true };
}

/** The plan a journal holds (no run result), its state rebuilt from the bot's state on disk when it was journaled as changes. */
export async function planOfJournal(bot: Pick<HostedBot, "state">, journal: unknown): Promise<MailPlan> {
  const plan = journal as JournaledPlan;
  if (plan.stateFromChanges === undefined) return plan;
  const { stateFromChanges: _, ...rest } = plan;
  if (rest.stateChanges === undefined) throw new Error("a journaled plan says its state is its changes, but has none");
  return { ...rest, state: applyStateChanges(await bot.state.load(), rest.stateChanges) };
}
