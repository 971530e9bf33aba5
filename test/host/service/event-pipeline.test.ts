// The one event pipeline (host/service/event-pipeline.ts): its steps alone on a scripted sandbox,
// and the claim it exists for — the same bot and the same events give the same kept actions,
// refusals and state through the test kit (chatbot/testing) as through the relay's handle-mail
// path (planMail/planTick, commitPlan, applyPlan with encrypted mails).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PER_USER_LIMITS } from "../../../core/limits.js";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import type { RunResult } from "../../../host/executor/run-types.js";
import { openBotPolicy, openLocalPolicy, type RefusedAction, type Refusal } from "../../../host/service/bot-policy.js";
import { commitPlan } from "../../../host/service/commit-plan.js";
import { processEvent, type PipelineBot } from "../../../host/service/event-pipeline.js";
import { applyPlan, planMail, planTick, type MailHandlerDeps, type MailPlan } from "../../../host/service/handle-mail.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import { loadInstalledBot, type InstalledBot } from "../../../host/service/installed-bots.js";
import { hostPaths } from "../../../host/service/paths.js";
import { createTestBot, type TestBot, type TestEventResult } from "../../../host/testing/index.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { FakeClock, FakeSmtp, botSettings, botState, initHost, installBot } from "../../support/host-fixture.js";
import { newIdentity, userMail } from "../../support/user-mail.js";

const ADDR = "bot@chat.test";
const ALICE = "alice@example.org";
const BOB = "bob@example.org";

/**
 * Replies to each message, writes to Carol (who never writes: refused) and to the other of Alice
 * and Bob (refused until they wrote), remembers every sender in state, and throws on "boom" after
 * changing its state (which must be dropped). Its tick writes to everyone it remembers.
 */
const SOURCE = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    if (msg.text === "forget") {
      // Two deletes the relay skips: a message it never sent (E_NOT_SENT), its own into another chat (E_OTHER_CHAT).
      const id = await bot.reply("forgotten");
      await bot.deleteMessage("<never-sent@example.org>");
      await bot.deleteMessage(id, "${ALICE}");
      return;
    }
    const seen = (await bot.state.get<string[]>("seen")) ?? [];
    await bot.state.set("seen", [...seen, msg.from.addr]);
    if (msg.text === "boom") throw new Error("boom");
    await bot.reply(\`hi \${msg.from.addr}\`);
    await bot.send("carol@example.org", "psst");
    await bot.send(msg.from.addr === "${ALICE}" ? "${BOB}" : "${ALICE}", "a friend wrote");
  },
  async tick(bot) {
    for (const addr of new Set((await bot.state.get<string[]>("seen")) ?? [])) await bot.send(addr, "tick");
  },
});
`;

/** What both worlds say about one event: comparable field by field. */
interface Seen {
  status: string;
  /** Message-IDs of the kept actions' mails (they fix which run indices were kept). */
  sent: string[];
  refused: RefusedAction[];
  /** Actions the outbound rules skipped: the relay logs { index, code, reason }. */
  skipped: Array<{ index: number; code: string; reason: string }>;
  answer?: { refusal: Refusal; notified: boolean };
}

function fromTestKit(result: TestEventResult): Seen {
  return {
    status: result.status,
    sent: result.messages.map((m) => m.id),
    refused: result.refused,
    skipped: result.skipped.map(({ index, code, reason }) => ({ index, code, reason })),
    ...(result.answer ? { answer: { refusal: result.answer.refusal, notified: result.answer.text !== "" } } : {}),
  };
}

function fromRelay(plan: MailPlan, logs: HostEvent[]): Seen {
  const line = logs.at(-1) as Record<string, unknown>;
  if (plan.report.outcome === "answered") {
    return { status: "answered", sent: [], refused: [], skipped: [], answer: { refusal: line.refusal as Refusal, notified: line.notified as boolean } };
  }
  return {
    status: plan.report.result!.status,
    sent: plan.mails.map((m) => m.messageId),
    refused: (line.noConsent as RefusedAction[] | undefined) ?? [],
    skipped: (line.skipped as Seen["skipped"] | undefined) ?? [],
  };
}

describe("event pipeline: the test kit and the relay give a bot the same outcome", () => {
  let work: string;
  let data: string;
  let relayBot: InstalledBot;
  let kit: TestBot;
  let deps: MailHandlerDeps;
  const logs: HostEvent[] = [];
  const identities = new Map<string, BotIdentity>();
  let clock: FakeClock;
  const executor = new Executor();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "event-pipeline-"));
    data = await initHost(work);
    await installBot(work, data, { addr: ADDR, source: SOURCE, manifest: { limits: { perUser: { mailsPerHour: 3 } } } });
    clock = new FakeClock((await botSettings(data, ADDR)).installedAt);
    const config = await loadHostConfig(hostPaths(data).config, data);
    relayBot = (await loadInstalledBot(data, ADDR, config, { now: () => clock.now() }))!;
    const policy = openBotPolicy(hostPaths(data).bot(ADDR).dir, relayBot.perUser, config.ceilings.bot, clock);
    deps = { executor, submitter: new FakeSmtp(), log: (event) => logs.push(event), maxMailBytes: MAIL_MAX_BYTES, policy };
    // The folder installBot built the bot from: the test kit builds the same bot.ts and manifest.
    kit = await createTestBot({ dir: join(work, `bot-${ADDR.replace(/[^a-z0-9]/g, "-")}`), botAddr: ADDR, now: clock.now() });
    for (const addr of [ALICE, BOB]) identities.set(addr, await newIdentity(addr));
  }, 120_000);

  afterAll(async () => {
    await kit?.close();
    await executor.close();
  });

  /** One message through the relay (an encrypted mail, planned, committed, applied) and through the test kit. */
  async function both(from: string, text: string, n: number): Promise<{ relay: Seen; local: Seen }> {
    const messageId = `<m${n}@example.org>`;
    const mail = await userMail({
      from,
      to: ADDR,
      recipientKey: relayBot.account.identity.publicKey,
      signer: identities.get(from)!,
      body: { kind: "text", text },
      messageId,
      date: new Date(clock.now()),
    });
    const plan = await planMail(relayBot, mail.raw, deps);
    await applyPlan(relayBot, await commitPlan(relayBot, plan), deps);
    const local = await kit.message(text, { from, id: messageId });
    return { relay: fromRelay(plan, logs), local: fromTestKit(local) };
  }

  it("message by message: kept mails (same Message-IDs), consent refusals, a failed run, the per-user limit's notice and silence, /stop, and a tick; the state after each", async () => {
    const steps: Array<[string, string]> = [
      [ALICE, "hello"], // Alice's reply kept; Carol and Bob refused (neither wrote yet)
      [BOB, "hello"], // Bob's reply and the mail to Alice kept; Carol refused
      [ALICE, "boom"], // the bot throws: nothing kept, its state change dropped
      [ALICE, "again"], // Alice's third mail this hour: at mailsPerHour (3), still runs
      [ALICE, "more"], // one over: the host answers with a notice
      [ALICE, "still more"], // over again: refused without a second notice
      [BOB, "forget"], // the reply kept; two deletes skipped by the outbound rules, with the relay's codes
      [BOB, "/stop"], // the host's, not the bot's
    ];
    const seen: Array<{ relay: Seen; local: Seen }> = [];
    for (const [index, [from, text]] of steps.entries()) {
      const step = await both(from, text, index + 1);
      seen.push(step);
      expect(step.local, `${from}: ${text}`).toEqual(step.relay);
      expect(kit.state.all(), `state after ${from}: ${text}`).toEqual(await botState(data, ADDR));
    }
    // The outcomes themselves, so equality is not two identical mistakes.
    const [first, second, boom, atCap, over, silent, forget, stop] = seen.map((s) => s.local);
    expect(first).toMatchObject({
      status: "ok",
      sent: [expect.any(String)],
      refused: [
        { chatId: "carol@example.org", type: "send", code: "E_NO_CONSENT" },
        { chatId: BOB, type: "send", code: "E_NO_CONSENT" },
      ],
    });
    expect(second).toMatchObject({ status: "ok", refused: [{ chatId: "carol@example.org", type: "send", code: "E_NO_CONSENT" }] });
    expect(second!.sent).toHaveLength(2);
    expect(boom).toEqual({ status: "bot-error", sent: [], refused: [], skipped: [] });
    expect(atCap!.status).toBe("ok");
    expect(over).toEqual({
      status: "answered",
      sent: [],
      refused: [],
      skipped: [],
      answer: { refusal: { kind: "per-user-limit", limit: "mailsPerHour" }, notified: true },
    });
    expect(forget).toMatchObject({
      status: "ok",
      sent: [expect.any(String)],
      skipped: [
        { index: 1, code: "E_NOT_SENT" },
        { index: 2, code: "E_OTHER_CHAT" },
      ],
    });
    expect(silent!.answer).toEqual({ refusal: { kind: "per-user-limit", limit: "mailsPerHour" }, notified: false });
    expect(stop!.answer).toEqual({ refusal: { kind: "consent", command: "stop" }, notified: true });
    expect(kit.state.all()).toEqual({ seen: [ALICE, BOB, ALICE] });

    // A tick: Alice gets hers, Bob sent /stop and is refused — in both worlds.
    const at = clock.now();
    const tickPlan = await planTick(relayBot, at, deps);
    await applyPlan(relayBot, await commitPlan(relayBot, tickPlan), deps);
    const tick = fromTestKit(await kit.tick());
    expect(tick).toEqual(fromRelay(tickPlan, logs));
    expect(tick).toMatchObject({ status: "ok", sent: [expect.any(String)], refused: [{ chatId: BOB, type: "send", code: "E_STOPPED" }] });
  }, 120_000);
});

describe("event pipeline: its steps", () => {
  /** A sandbox that answers every event with `result` (the pipeline's steps around it are what is tested). */
  const scripted = (result: Partial<RunResult>) => ({
    run: async () => ({
      status: "ok" as const,
      actions: [],
      logs: [],
      state: null,
      cpuMs: 5,
      wallMs: 6,
      memoryBytes: 0,
      fetch: { count: 0, bytesIn: 0, bytesOut: 0 },
      ...result,
    }),
  });
  const bot: PipelineBot = {
    bundle: { id: "x", code: "", filename: "bot.js" },
    limits: {} as PipelineBot["limits"],
    origins: [],
    addr: ADDR,
    now: () => 0,
    loadState: async () => ({ state: {} }),
  };
  const message = (text: string, from = ALICE) => ({
    event: {
      kind: "message" as const,
      message: { id: "<1@example.org>", text, from: { addr: from, name: "" }, chat: { id: from, type: "single" as const, name: "" }, attachments: [], date: 0 },
    },
    eventKey: "<1@example.org>",
  });
  const origin = (text: string, from = ALICE) => ({ sender: from, chatId: from, text, bytes: 10 });

  it("an ok run keeps what consent permits, with the run's indices, and settles its new state", async () => {
    const policy = openLocalPolicy(DEFAULT_PER_USER_LIMITS, new FakeClock(0));
    const actions = [
      { type: "send" as const, chatId: "carol@example.org", text: "x" },
      { type: "reply" as const, chatId: ALICE, text: "y", inReplyTo: "<1@example.org>" },
    ];
    const outcome = await processEvent(bot, message("hi"), { executor: scripted({ actions, state: { n: "1" } }), policy }, origin("hi"));
    expect(outcome).toMatchObject({
      kind: "ran",
      kept: [actions[1]],
      indices: [1],
      refused: [{ chatId: "carol@example.org", type: "send" }],
      state: { n: "1" },
    });
  });

  it("a failed run keeps nothing and settles no state, but its CPU still counts against the sender", async () => {
    const policy = openLocalPolicy({ ...DEFAULT_PER_USER_LIMITS, cpuMsPerHour: 5 }, new FakeClock(0));
    const failed = scripted({ status: "bot-error", error: { code: "E_BOT_EXCEPTION", message: "x" }, cpuMs: 6 });
    expect(await processEvent(bot, message("hi"), { executor: failed, policy }, origin("hi"))).toMatchObject({
      kind: "ran",
      kept: [],
      refused: [],
      state: null,
    });
    expect(await processEvent(bot, message("hi"), { executor: failed, policy }, origin("hi"))).toMatchObject({
      kind: "answer",
      refusal: { kind: "per-user-limit", limit: "cpuMsPerHour" },
    });
  });

  it("/stop is answered by the host and the bot does not run; no policy (the wire path's tests) runs everything", async () => {
    let runs = 0;
    const counting = {
      run: async (...args: Parameters<ReturnType<typeof scripted>["run"]>) => {
        runs++;
        return scripted({}).run(...args);
      },
    };
    const policy = openLocalPolicy(DEFAULT_PER_USER_LIMITS, new FakeClock(0));
    expect(await processEvent(bot, message("/stop"), { executor: counting, policy }, origin("/stop"))).toMatchObject({
      kind: "answer",
      refusal: { kind: "consent", command: "stop" },
    });
    expect(runs).toBe(0);
    expect(await processEvent(bot, message("/stop"), { executor: counting }, origin("/stop"))).toMatchObject({ kind: "ran" });
    expect(runs).toBe(1);
  });
});
