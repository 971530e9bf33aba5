// plan-journal.ts: a plan's new state journaled as its changes and rebuilt from the state on disk.
import { describe, expect, it } from "vitest";
import type { MailPlan } from "../../../host/service/handle-mail.js";
import { journalOf, planOfJournal } from "../../../host/service/plan-journal.js";

const BEFORE = { kept: '"k"', gone: "1", count: "1" };
const CHANGES = { deleted: ["gone"], set: { count: "2", ["__proto__"]: '{"polluted":true}' } };
const AFTER = JSON.parse('{"kept":"\\"k\\"","count":"2","__proto__":"{\\"polluted\\":true}"}') as Record<string, string>;

/** The run's result as planMail reports it: the whole new state, the actions, the logs. */
const RESULT = { status: "ok", actions: [{ type: "send", text: "big ".repeat(100) }], logs: [], state: AFTER, cpuMs: 1, wallMs: 1, memoryBytes: 1 };

function plan(state: Record<string, string> | null, changes?: typeof CHANGES): MailPlan {
  return {
    report: { outcome: "ran", sent: 0, result: RESULT },
    mails: [],
    submitted: 0,
    state,
    ...(changes ? { stateChanges: changes, stateToken: "t.1" } : {}),
  } as unknown as MailPlan;
}

/** `p` as journaled when only the run's result is left out. */
const withoutResult = (p: MailPlan) => ({ ...p, report: { outcome: p.report.outcome, sent: p.report.sent } });

/** A bot whose state on disk is `state`. */
const botWith = (state: Record<string, string>) => ({ state: { load: async () => ({ ...state }) } }) as never;

/** The journal as the spool writes and reads it (JSON). */
const throughDisk = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe("plan journal", () => {
  it("a plan with its changes is journaled without its state; a resume rebuilds it from the state before or after the save", async () => {
    const journal = throughDisk(journalOf(plan(AFTER, CHANGES)));
    expect(journal).toMatchObject({ state: null, stateFromChanges: true, stateToken: "t.1", report: { outcome: "ran", sent: 0 } });
    expect(journal).not.toHaveProperty("report.result");
    expect(JSON.stringify(journal)).not.toContain("kept");
    for (const onDisk of [BEFORE, AFTER]) {
      const resumed = await planOfJournal(botWith(onDisk), journal);
      expect(resumed.state).toEqual(AFTER);
      expect(Object.getPrototypeOf(resumed.state)).toBe(Object.prototype); // "__proto__" is a key, not a prototype
      expect(resumed).not.toHaveProperty("stateFromChanges");
      expect(resumed.stateChanges).toEqual(throughDisk(CHANGES));
    }
  });

  it("a plan without changes, or without a new state, is journaled whole but for the run's result, and read back as it is (also a journal from before this form)", async () => {
    for (const whole of [plan(AFTER), plan(null)]) {
      expect(journalOf(whole)).toEqual(withoutResult(whole));
      for (const journal of [journalOf(whole), whole]) expect(await planOfJournal(botWith({ other: "1" }), throughDisk(journal))).toEqual(throughDisk(journal));
    }
  });

  it("a journal that says its state is its changes but has none is refused, not read as an empty change", async () => {
    const broken = { ...plan(null), stateFromChanges: true };
    await expect(planOfJournal(botWith(BEFORE), broken)).rejects.toThrow(/has none/);
  });
});
