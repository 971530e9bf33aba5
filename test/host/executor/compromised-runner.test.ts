// A runner a bot broke out of (issue 12): the walls keep it from the relay, and what it says over
// IPC is all it can still do. Each lie is refused whole: the event fails as E_RUNNER, the runner is
// killed (stats.runnersRefused), nothing of the result reaches the host's mail or state, and the
// next event runs on a new runner. The fake runner (test/fixtures/runners/compromised.mjs) speaks
// the protocol and sends what the event's text names, down to a frame header announcing 3 GiB
// (refused from its header: message-frames.ts) and bytes that are no v8 serialization.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isChatbotError } from "../../../core/errors.js";
import { Executor } from "../../../host/executor/executor.js";
import { messageEvent, request } from "../../support/sandbox.js";
import { botWithMessageHandler } from "../../support/sandbox.js";

const RUNNER = fileURLToPath(new URL("../../fixtures/runners/compromised.mjs", import.meta.url));
const bundle = botWithMessageHandler(`await bot.reply("unused");`);
let executor: Executor;

beforeAll(async () => {
  executor = new Executor({ runnerPath: RUNNER });
  await executor.warmUp();
});
afterAll(() => executor.close());

// With a stateToken, as the relay's events have: a runner may say it lacks the state.
const run = (word: string) => executor.run(request(bundle, { event: messageEvent(word), stateToken: `token-${word}` }));

describe("a compromised runner's messages", () => {
  it("an honest answer passes the check unchanged", async () => {
    const result = await run("honest");
    expect(result.status).toBe("ok");
    expect(result.actions).toEqual([{ type: "send", chatId: "alice@example.org", text: "echo: honest" }]);
  });

  it("a runner that lost the bundle it was sent is sent it whole once, and the event runs", async () => {
    expect((await run("honest")).status).toBe("ok");
    const sent = executor.stats.bundlesSent;
    const refused = executor.stats.runnersRefused;
    const result = await run("bundle-lost");
    expect(result.status).toBe("ok");
    expect(executor.stats.bundlesSent).toBe(sent + 1);
    expect(executor.stats.runnersRefused).toBe(refused);
  });

  const attacks: Array<[string, RegExp]> = [
    ["not-an-object", /a message that is not an object/],
    ["header-injection", /action 0: action.chatId must be/],
    ["wrong-types", /action 0: action.text must be a string/],
    ["too-many-actions", /actions is not a list of at most/],
    ["huge-state", /over stateBytes/],
    ["state-not-json-text", /is not JSON text/],
    ["actions-on-failure", /did not end ok has actions/],
    ["forged-file", /file.dataBase64 is not base64/],
    ["huge-log", /over logBytesPerEvent/],
    ["unknown-status", /status is not a known one/],
    ["bad-fetch", /a fetch request is not/],
    ["unknown-type", /a message of an unknown type/],
    ["bundle-missing-forever", /a second request for the bundle of one event/],
    ["state-missing-forever", /a second request for the state of one event/],
    ["bad-state-changes", /stateChanges.deleted is not a list of keys/],
    ["state-changes-over-quota", /over stateBytes/],
    ["state-changes-on-failure", /stateChanges come with an ok result/],
    ["huge-frame", /a message of 3221225472 bytes, over the \d+-byte cap/],
    ["garbage", /a message that does not deserialize/],
  ];
  for (const [word, why] of attacks) {
    it(`${word}: refused with why, the runner is killed, and the next event runs on a new one`, async () => {
      const refused = executor.stats.runnersRefused;
      const [pid] = executor.runnerPids();
      const failure = await run(word).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isChatbotError(failure) && failure.code, String(failure)).toBe("E_RUNNER");
      expect((failure as Error).message).toMatch(why);
      expect(executor.stats.runnersRefused).toBe(refused + 1);
      const next = await run("honest");
      expect(next.status).toBe("ok");
      expect(executor.runnerPids()).not.toContain(pid);
    });
  }
});
