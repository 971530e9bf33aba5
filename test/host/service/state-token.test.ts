// A bot's state file names each state it hands out (RunRequest.stateToken), so a runner that holds
// that state is not sent it again (host/executor/state-cache.ts). What must hold: one token never
// stands for two states — a save (even a failed one) gives the next state a new token, or the one
// the executor named it with, and another object for the same file (a reload of the bot) never
// hands out the first one's tokens.
import { mkdtempSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BotStateFile } from "../../../host/service/bot-state-file.js";
import { hostPaths } from "../../../host/service/paths.js";
import { COUNTER_BOT, botState } from "../../support/host-fixture.js";
import { sandboxAndSender } from "../../support/sandbox-and-sender.js";
import { serviceHost } from "../../support/service-host.js";

const USER = "alice@chat.test";
const sandbox = sandboxAndSender(USER);
/** Reads its state on every mail and never writes it. */
const READER_BOT = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    await bot.reply(\`greeting: \${(await bot.state.get("greeting")) ?? "none"}\`);
  },
});`;

const fileIn = () => {
  const dir = join(mkdtempSync(join(tmpdir(), "state-token-")), "bot");
  mkdirSync(dir);
  return join(dir, "state.json");
};

describe("BotStateFile's state tokens", () => {
  it("the same state keeps its token across loads; a save gives a new one", async () => {
    const state = new BotStateFile(fileIn());
    const first = await state.loadWithToken();
    expect(first.state).toEqual({});
    expect((await state.loadWithToken()).token).toBe(first.token);
    await state.save({ n: "1" });
    const second = await state.loadWithToken();
    expect(second).toMatchObject({ state: { n: "1" } });
    expect(second.token).not.toBe(first.token);
  });

  it("a state saved with the token the executor named it with is handed out under that token until the next save", async () => {
    const state = new BotStateFile(fileIn());
    await state.save({ n: "1" }, "runner-kept");
    expect(await state.loadWithToken()).toEqual({ state: { n: "1" }, token: "runner-kept" });
    await state.save({ n: "2" });
    expect((await state.loadWithToken()).token).not.toBe("runner-kept");
  });

  it("another object for the same file (the bot loaded again) hands out other tokens for the same state", async () => {
    const file = fileIn();
    await new BotStateFile(file).save({ n: "1" });
    const [a, b] = [await new BotStateFile(file).loadWithToken(), await new BotStateFile(file).loadWithToken()];
    expect(a.state).toEqual(b.state);
    expect(a.token).not.toBe(b.token);
  });

  it("a save that fails still gives the next state a new token (the file may hold either state)", async () => {
    const file = fileIn();
    const state = new BotStateFile(file);
    const before = await state.loadWithToken();
    // A folder where the file goes: the rename onto it fails, as root too.
    mkdirSync(file);
    await expect(state.save({ n: "2" })).rejects.toThrow();
    rmdirSync(file);
    expect((await state.loadWithToken()).token).not.toBe(before.token);
  });
});

describe("the host service sends a bot's state to its runner once", () => {
  it("a bot that only reads its state and one that writes it at every event get it with their first event only, and count right", async () => {
    const host = await serviceHost({ executor: sandbox.executor, sender: { addr: USER, identity: sandbox.sender }, source: READER_BOT });
    const sent = sandbox.executor.stats.statesSent;
    for (const text of ["a", "b", "c"]) {
      await host.deliver(text);
      await host.service.drainOnce();
    }
    expect(host.smtp.accepted).toHaveLength(3);
    expect(sandbox.executor.stats.statesSent).toBe(sent + 1);

    const counter = await serviceHost({ executor: sandbox.executor, sender: { addr: USER, identity: sandbox.sender }, source: COUNTER_BOT });
    const before = sandbox.executor.stats.statesSent;
    for (const text of ["a", "b", "c"]) {
      await counter.deliver(text);
      await counter.service.drainOnce();
    }
    // The state after each event is the one its runner kept: saved under its token, not sent again.
    expect(sandbox.executor.stats.statesSent).toBe(before + 1);
    expect(counter.smtp.accepted).toHaveLength(3);
    expect(await botState(counter.data, counter.addr)).toEqual({ runs: 3 });
    // On disk: the first event's state as the snapshot, the next two as what they changed.
    const stateFile = join(hostPaths(counter.data).bot(counter.addr).dir, "state.json");
    expect(JSON.parse(readFileSync(stateFile, "utf8"))).toEqual({ runs: "1" });
    expect(
      readFileSync(`${stateFile}.log`, "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { deleted: [], set: { runs: "2" } },
      { deleted: [], set: { runs: "3" } },
    ]);
    await host.service.stop();
    await counter.service.stop();
  });
});
