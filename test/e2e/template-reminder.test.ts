// The reminder template on a real relay with a real Delta Chat client: a user sets a reminder;
// a tick before it is due sends nothing, the first tick after it delivers it into the user's chat.
// Ticks are run by the harness as the host's scheduler would, at chosen slot times.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { startBotOnRelay, type BotOnRelay } from "../support/bot-harness.js";

const MINUTE_MS = 60 * 1000;

describe.skipIf(!relayAvailable())("reminder template with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let reminders: BotOnRelay;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    reminders = await startBotOnRelay(relay, { addr: `reminders@${relay.domain}`, name: "Reminder Bot", template: "reminder" });
  });

  afterAll(async () => {
    await reminders?.stop();
    await dc?.close();
    await relay?.stop();
  });

  it("/remind 1h tea: nothing at a tick before it is due, delivered at the first tick after", async () => {
    const account = await dc.createAccount(relay, "Alice", `alice@${relay.domain}`, "alice-password");
    const chatId = await dc.joinByQr(account, await reminders.invite(), 30_000);

    const before = Date.now();
    let incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("Reminder #"), 30_000);
    await dc.rpc.miscSendTextMessage(account, chatId, "/remind 1h tea");
    const confirmation = await incoming;
    // After 23:00 UTC "in 1 h" is tomorrow, which the bot names with the day ("Mon 7 Dec 00:01 UTC").
    expect(confirmation.text).toMatch(
      /^Reminder #1 set: "tea", due in 1 h at (?:[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}(?: \d{4})? )?\d\d:\d\d UTC\. I look at reminders once an hour, so it arrives between /,
    );
    const after = Date.now();

    // Half an hour on: not due yet.
    expect(await reminders.tick(before + 30 * MINUTE_MS)).toMatchObject({ outcome: "ran", sent: 0 });

    // The first tick after it is due delivers it, into the same chat.
    incoming = dc.waitForIncomingMessage(account, (m) => m.text.startsWith("⏰"), 30_000);
    expect(await reminders.tick(after + 61 * MINUTE_MS)).toMatchObject({ outcome: "ran", sent: 1 });
    const reminder = await incoming;
    expect(reminder.text).toBe("⏰ Reminder: tea");
    expect(reminder.chatId).toBe(chatId);
    expect(reminder.showPadlock).toBe(true);

    // Delivered once: a later tick has nothing left.
    expect(await reminders.tick(after + 121 * MINUTE_MS)).toMatchObject({ outcome: "ran", sent: 0 });
  });
});
