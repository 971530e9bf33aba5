// Phase 6: a template's heaviest event through chatbot/testing (the real sandbox, a fresh runner):
// the poll template's /poll, which builds the webxdc app. Its CPU goal lives here, not in the
// template's tests, where a fixed threshold failed under load.
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createTestBot } from "../../host/testing/index.js";
import type { TestEventResult } from "../../host/testing/api.js";
import { summarize, type SampleBudget, type Summary } from "./stats.js";

/** CPU and wall time of the poll template's /poll event, ms. */
export interface TemplateResult {
  pollCpuMs: Summary;
  pollWallMs: Summary;
}

const POLL_DIR = fileURLToPath(new URL("../../templates/poll/", import.meta.url));
/** The event the poll template's test once bounded: a poll with 12 options. */
const POLL_COMMAND = `/poll Which one? | ${Array.from({ length: 12 }, (_, i) => `Option number ${i}`).join(" | ")}`;

function checked(result: TestEventResult): TestEventResult {
  if (result.status !== "ok" || result.actions.length === 0) {
    throw new Error(`the poll template's /poll ended ${result.status}${result.error ? ` (${result.error.message})` : ""}`);
  }
  return result;
}

/** Run /poll under the budget (the warm-up pays for the runner's first events). */
export async function measureTemplates(budget: SampleBudget): Promise<TemplateResult> {
  const bot = await createTestBot({ dir: POLL_DIR });
  try {
    for (let i = 0; i < (budget.warmUp ?? 0); i++) checked(await bot.message(POLL_COMMAND));
    const cpu: number[] = [];
    const wall: number[] = [];
    const stopAt = performance.now() + budget.maxMs;
    while (cpu.length < budget.n && performance.now() < stopAt) {
      const result = checked(await bot.message(POLL_COMMAND));
      cpu.push(result.cpuMs);
      wall.push(result.wallMs);
    }
    return { pollCpuMs: summarize(cpu), pollWallMs: summarize(wall) };
  } finally {
    await bot.close();
  }
}
