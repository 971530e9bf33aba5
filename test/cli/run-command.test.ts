// Exit codes for a sandbox runner that dies: the bot's failure (3, like 1 and 2), unless the runner
// never got the event — then it is the host's and "try again later" (75).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT, type Command } from "../../host/cli/command.js";
import { runCli } from "../../host/cli/main.js";
import { runCommand } from "../../host/cli/run-command.js";
import { Executor } from "../../host/executor/executor.js";
import type { RunRequest } from "../../host/executor/run-types.js";
import { DEFAULT_EVENT_LIMITS } from "../../core/limits.js";
import { captureIo } from "../support/cli-io.js";

const runner = (name: string) => fileURLToPath(new URL(`../fixtures/runners/${name}`, import.meta.url));

/** A tick for a bot that does nothing (the stand-in runners never read it). */
const TICK: RunRequest = {
  bundle: { id: "probe", code: "export default {};", filename: "bot.js" },
  event: { kind: "tick", at: 0 },
  attachments: [],
  state: {},
  limits: { ...DEFAULT_EVENT_LIMITS },
  nowMs: 0,
  fetch: { allowOrigins: [], allowHttpLoopback: false },
  messageIds: { botAddr: "bot@chat.test", eventKey: "tick:0" },
};

/** A command that runs one (empty) event on an executor whose runner is `runnerPath`. */
function runOn(runnerPath: string): Command {
  return {
    path: ["probe"],
    summary: "",
    help: "",
    async run() {
      const executor = new Executor({ runnerPath });
      try {
        await executor.run(TICK);
        return EXIT.ok;
      } finally {
        await executor.close();
      }
    },
  };
}

describe("cli exit codes for a crashed sandbox", () => {
  it("a runner that dies with the bot's event in hand: E_RUNNER, exit 3", async () => {
    const io = captureIo(process.cwd());
    expect(await runCommand(runOn(runner("dies-on-run.mjs")), [], io)).toBe(3);
    expect(io.err).toBe("error E_RUNNER: runner exited (134)\n");
  });

  it("a runner that never starts: E_RUNNER_UNAVAILABLE, exit 75 (try again later)", async () => {
    const io = captureIo(process.cwd());
    expect(await runCommand(runOn(runner("dies-at-start.mjs")), [], io)).toBe(EXIT.tempFail);
    expect(io.err).toMatch(/^error E_RUNNER_UNAVAILABLE: runner exited \(1\)\n$/);
  });

  it("chatbot run --help lists exit code 3", async () => {
    const io = captureIo(process.cwd());
    expect(await runCli(["run", "--help"], io)).toBe(0);
    expect(io.out).toMatch(/3 the\s+sandbox crashed on the bot's event \(E_RUNNER/);
  });
});
