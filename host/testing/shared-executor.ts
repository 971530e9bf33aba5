// One sandbox executor for every test bot of a test process. Each event already runs in a fresh
// QuickJS isolate (nothing of one event or one test bot survives into the next), so test bots can
// share the runner process; starting one per test bot cost ~1 s each (fork + WASM load), most of
// a template's test time. The executor closes IDLE_CLOSE_MS after its last test bot closes, so a
// test file's next bot (the next beforeEach) finds it still running.
import { Executor } from "../executor/executor.js";

/** How long an unused shared executor stays up for the next test bot, ms. */
const IDLE_CLOSE_MS = 1_000;

let shared: { executor: Executor; users: number; idle: NodeJS.Timeout | undefined } | undefined;

/** The shared executor, and the function that gives it back (call it once, from TestBot.close). */
export function acquireExecutor(): { executor: Executor; release: () => Promise<void> } {
  shared ??= { executor: new Executor(), users: 0, idle: undefined };
  const current = shared;
  clearTimeout(current.idle);
  current.idle = undefined;
  current.users += 1;
  let released = false;
  return {
    executor: current.executor,
    release: async () => {
      if (released) return;
      released = true;
      current.users -= 1;
      if (current.users > 0) return;
      current.idle = setTimeout(() => {
        if (shared === current && current.users === 0) shared = undefined;
        void current.executor.close();
      }, IDLE_CLOSE_MS);
      // The timer must not hold a finished test process open.
      current.idle.unref();
    },
  };
}
