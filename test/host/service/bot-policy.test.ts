// The consent rule for the bot's actions (DESIGN §3.1): permittedActions lets add-member through
// only for a person who wrote to the bot 1:1 and has not sent /stop, into a group that wrote to
// it; what it holds back keeps the other actions' run indices (their Message-IDs).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPORT_TEXT, REPORT_TEXT_MAX_CHARS } from "../../../host/policy/report-command.js";
import type { Action } from "../../../std/contract.js";
import { gateEvent, openBotPolicy, permittedActions, recordEvent, type BotPolicy } from "../../../host/service/bot-policy.js";
import { DEFAULT_BOT_LIMITS, DEFAULT_PER_USER_LIMITS } from "../../../core/limits.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";

const CAROL = "carol@example.org";
const ERIN = "erin@example.org";
const GROUP = "group:AbCdEfGhIjKlMnOp";
const add = (addr: string, chatId = GROUP): Action => ({ type: "add-member", chatId, addr });

/** A fresh policy in which Carol wrote in the group (so the bot may write there). */
async function policy(): Promise<BotPolicy> {
  const p = openBotPolicy(mkdtempSync(join(tmpdir(), "bot-policy-")), DEFAULT_PER_USER_LIMITS, DEFAULT_BOT_LIMITS, new FakeClock(T0));
  expect(await gateEvent(p, CAROL, GROUP, "/add erin", 100)).toEqual({ kind: "run" });
  return p;
}

describe("permittedActions: add-member", () => {
  it("a person who never wrote to the bot 1:1 is not added", async () => {
    const p = await policy();
    expect(await permittedActions(p, [add(ERIN)])).toEqual({
      allowed: [],
      indices: [],
      refused: [{ chatId: GROUP, type: "add-member", addr: ERIN, code: "E_NO_CONSENT" }],
    });
  });

  it("writing in a group with the bot is not enough: only a 1:1 message is consent", async () => {
    const p = await policy();
    await gateEvent(p, ERIN, GROUP, "hello group", 100);
    expect((await permittedActions(p, [add(ERIN)])).allowed).toEqual([]);
  });

  it("a person who wrote 1:1 is added; after /stop not; after /start again", async () => {
    const p = await policy();
    await gateEvent(p, ERIN, ERIN, "hi bot", 100);
    expect((await permittedActions(p, [add(ERIN)])).allowed).toEqual([add(ERIN)]);
    expect(await gateEvent(p, ERIN, ERIN, "/stop", 100)).toMatchObject({ kind: "answer" });
    expect((await permittedActions(p, [add(ERIN)])).refused).toEqual([{ chatId: GROUP, type: "add-member", addr: ERIN, code: "E_STOPPED" }]);
    await gateEvent(p, ERIN, ERIN, "/start", 100);
    expect((await permittedActions(p, [add(ERIN)])).allowed).toEqual([add(ERIN)]);
  });

  it("a group that never wrote to the bot gets no member-added message, even for a consenting person", async () => {
    const p = await policy();
    await gateEvent(p, ERIN, ERIN, "hi bot", 100);
    expect(await permittedActions(p, [add(ERIN, "group:ZzZzZzZzZzZzZz")])).toMatchObject({
      allowed: [],
      refused: [{ chatId: "group:ZzZzZzZzZzZzZz", code: "E_NO_CONSENT" }],
    });
  });

  it("held-back actions keep the others' indices", async () => {
    const p = await policy();
    await gateEvent(p, ERIN, ERIN, "hi bot", 100);
    const actions: Action[] = [add("stranger@example.org"), { type: "send", chatId: GROUP, text: "hi" }, add(ERIN)];
    const { allowed, indices, refused } = await permittedActions(p, actions);
    expect(allowed).toEqual([actions[1], actions[2]]);
    expect(indices).toEqual([1, 2]);
    expect(refused).toEqual([{ chatId: GROUP, type: "add-member", addr: "stranger@example.org", code: "E_NO_CONSENT" }]);
  });
});

describe("gateEvent: refusals", () => {
  it("gateEvent: a refusal carries what refused as data beside its sentence — the consent command, or the per-user limit's name", async () => {
    const p = openBotPolicy(mkdtempSync(join(tmpdir(), "bot-policy-")), { ...DEFAULT_PER_USER_LIMITS, mailsPerHour: 1 }, DEFAULT_BOT_LIMITS, new FakeClock(T0));
    expect(await gateEvent(p, ERIN, ERIN, "/stop", 100)).toMatchObject({
      kind: "answer",
      reason: "consent: /stop",
      refusal: { kind: "consent", command: "stop" },
    });
    expect(await gateEvent(p, CAROL, CAROL, "hi bot", 100)).toEqual({ kind: "run" });
    await recordEvent(p, CAROL, 100, 1);
    expect(await gateEvent(p, CAROL, CAROL, "again", 100)).toMatchObject({
      kind: "answer",
      reason: "per-user limit mailsPerHour (1/1)",
      refusal: { kind: "per-user-limit", limit: "mailsPerHour" },
    });
  });

  it("gateEvent: /report in a 1:1 chat is the host's — answered with the report text, logged with the words, the bot never runs; in a group it is the bot's message", async () => {
    const p = openBotPolicy(mkdtempSync(join(tmpdir(), "bot-policy-")), DEFAULT_PER_USER_LIMITS, DEFAULT_BOT_LIMITS, new FakeClock(T0));
    expect(await gateEvent(p, ERIN, ERIN, "/REPORT  it sends me spam\n\u001b[31mevery hour", 100)).toEqual({
      kind: "answer",
      text: REPORT_TEXT,
      reason: "report: it sends me spam [31mevery hour",
      refusal: { kind: "report" },
    });
    expect(await gateEvent(p, ERIN, ERIN, "/report", 100)).toMatchObject({ reason: "report: (no words given)", refusal: { kind: "report" } });
    expect(await gateEvent(p, ERIN, "group:club", "/report spam", 100)).toEqual({ kind: "run" });
    expect(await gateEvent(p, ERIN, ERIN, "/reporter", 100)).toEqual({ kind: "run" });
    const long = await gateEvent(p, CAROL, CAROL, `/report ${"x".repeat(600)}`, 100);
    expect(long.kind === "answer" && long.reason.length).toBe("report: ".length + REPORT_TEXT_MAX_CHARS + 1);
  });
});
