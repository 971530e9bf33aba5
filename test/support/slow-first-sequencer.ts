// Test order for a run on two workers: the files that take longest start first. vitest orders by
// the durations it cached from the run before (node_modules/.vite), and by file size when it has
// none — as in CI's fresh clone, where the short-sourced but long-running end-to-end files (npm
// installs, the five-core matrix) then started last and ran alone for minutes at the end.
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Slowest first (wall time on the idle 2-core machine). Only end-to-end files: the unit files are
 * many and short, and vitest's own order finishes both workers together there.
 */
export const SLOW_FILES: readonly string[] = [
  "test/e2e/registry.test.ts", // ~90 s: the package published to a local registry, every template installed from it
  "test/e2e/client-matrix.test.ts", // 85–113 s: five Delta Chat cores
  "test/e2e/self-service.test.ts", // ~85 s, 60 of them with host serve stopped: waits beside the busy files
  "test/e2e/host-crash.test.ts", // a burst of 200 mails through a real relay and a real core
  "test/e2e/host-routing.test.ts", // ~40 s, most of it Postfix keeping a removed bot's route ~30 s: waits beside the busy files
  "test/e2e/operator-recipe.test.ts", // the README's recipe as a fresh system user
];

/** Rank of a file in SLOW_FILES; every other file after them. */
function rank(file: string): number {
  const index = SLOW_FILES.findIndex((slow) => file.endsWith(`/${slow}`));
  return index === -1 ? SLOW_FILES.length : index;
}

/** vitest's own order (cached durations, then size), with SLOW_FILES moved to the front. */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: the rest keeps vitest's order.
    return sorted.sort((a, b) => rank(a.moduleId) - rank(b.moduleId));
  }
}
