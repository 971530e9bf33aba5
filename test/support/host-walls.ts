// Test support: the runner launcher `host serve` would use on this machine (confined behind every
// wall that works here, host/confine/runner-walls.ts), so executor tests and the relay tests run
// their bots the way a relay does. One per test process: detection costs ~0.5 s.
import { openRunnerWalls } from "../../host/confine/runner-walls.js";
import type { RunnerLauncher } from "../../host/confine/runner-launcher.js";

let launcher: Promise<RunnerLauncher> | undefined;

/** The host's launcher here; its folder goes when the test process exits. */
export function hostLauncher(): Promise<RunnerLauncher> {
  launcher ??= openRunnerWalls([], () => undefined).then((opened) => {
    process.once("exit", () => opened.close());
    return opened;
  });
  return launcher;
}
