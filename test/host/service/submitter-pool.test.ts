// The submitter pool (host/service/submitter-pool.ts) alone: one submitter per bot, paced under
// the configured send rate with the injected sleep, all closed on stop.
import { describe, expect, it } from "vitest";
import { SubmitterPool } from "../../../host/service/submitter-pool.js";
import type { InstalledBot } from "../../../host/service/installed-bots.js";
import type { OutgoingMail } from "../../../host/wire/bot-message.js";
import { FakeClock, T0 } from "../../support/fake-clock.js";
import { FakeSmtp } from "../../support/host-fixture.js";

/** The pool reads only the bot's address. */
const botAt = (addr: string) => ({ account: { addr } }) as unknown as InstalledBot;
const mail = (n: number): OutgoingMail => ({ from: "a@chat.test", recipients: ["u@chat.test"], raw: `mail ${n}`, messageId: `<${n}@chat.test>` });

/** A pool over fresh FakeSmtps (one per submitterFor call) whose sleep moves the fake clock. */
function pool(pacing = { sendsPerMinute: 60, sendBurst: 2 }) {
  const clock = new FakeClock(T0);
  const opened: Array<{ addr: string; smtp: FakeSmtp }> = [];
  const slept: number[] = [];
  const submitters = new SubmitterPool({
    clock,
    pacing,
    submitterFor: (bot) => {
      const smtp = new FakeSmtp();
      opened.push({ addr: bot.account.addr, smtp });
      return smtp;
    },
    sleep: async (ms) => {
      slept.push(ms);
      clock.advance(ms);
    },
  });
  return { submitters, opened, slept };
}

describe("submitter pool", () => {
  it("opens one submitter per bot and reuses it", async () => {
    const { submitters, opened } = pool();
    const a = botAt("a@chat.test");
    await submitters.for(a).submit(mail(1));
    await submitters.for(a).submit(mail(2));
    await submitters.for(botAt("b@chat.test")).submit(mail(3));
    expect(opened.map((o) => o.addr)).toEqual(["a@chat.test", "b@chat.test"]);
    expect(opened[0]!.smtp.accepted.map((m) => m.raw)).toEqual(["mail 1", "mail 2"]);
  });

  it("paces each bot on its own: a burst goes at once, then one mail per interval", async () => {
    const { submitters, slept } = pool({ sendsPerMinute: 60, sendBurst: 2 });
    const a = submitters.for(botAt("a@chat.test"));
    for (let n = 1; n <= 4; n++) await a.submit(mail(n));
    // 60/min: one per 1000 ms after the burst of 2.
    expect(slept).toEqual([1_000, 1_000]);
    // Another bot's bucket is full: no wait.
    await submitters.for(botAt("b@chat.test")).submit(mail(5));
    expect(slept).toEqual([1_000, 1_000]);
  });

  it("a bot whose password changed gets a new submitter (the old one closed) and keeps its pace", async () => {
    const { submitters, opened, slept } = pool({ sendsPerMinute: 60, sendBurst: 2 });
    const withPassword = (password: string) => ({ account: { addr: "a@chat.test" }, password }) as unknown as InstalledBot;
    await submitters.for(withPassword("old-password")).submit(mail(1));
    await submitters.for(withPassword("old-password")).submit(mail(2));
    await submitters.for(withPassword("new-password")).submit(mail(3));
    expect(opened).toHaveLength(2);
    expect(opened[0]!.smtp.closed).toBe(true);
    expect(opened[1]!.smtp.accepted.map((m) => m.raw)).toEqual(["mail 3"]);
    // The burst of 2 was used by the old submitter: the third mail waited its interval.
    expect(slept).toEqual([1_000]);
  });

  it("closeAll closes every submitter; the next mail opens a new one", async () => {
    const { submitters, opened } = pool();
    submitters.for(botAt("a@chat.test"));
    submitters.for(botAt("b@chat.test"));
    submitters.closeAll();
    expect(opened.map((o) => o.smtp.closed)).toEqual([true, true]);
    submitters.for(botAt("a@chat.test"));
    expect(opened).toHaveLength(3);
    expect(opened[2]!.smtp.closed).toBe(false);
  });

  it("drop (an evicted bot) closes its submitter; its pacer is kept while it still paces, so the bot cannot send a new burst right after", async () => {
    const clock = new FakeClock(T0);
    const opened: FakeSmtp[] = [];
    const slept: number[] = [];
    const submitters = new SubmitterPool({
      clock,
      pacing: { sendsPerMinute: 60, sendBurst: 2 },
      submitterFor: () => {
        const smtp = new FakeSmtp();
        opened.push(smtp);
        return smtp;
      },
      sleep: async (ms) => {
        slept.push(ms);
        clock.advance(ms);
      },
    });
    const a = botAt("a@chat.test");
    await submitters.for(a).submit(mail(1));
    await submitters.for(a).submit(mail(2));
    submitters.drop("a@chat.test");
    expect(opened[0]!.closed).toBe(true);
    // The burst is used up: after the drop the next mail still waits its interval.
    await submitters.for(a).submit(mail(3));
    expect(slept).toEqual([1_000]);
    expect(opened).toHaveLength(2);
    // Once the bucket is full again the pacer is forgotten at a drop: a new one answers the same (no wait).
    submitters.drop("a@chat.test");
    clock.advance(3_000);
    submitters.drop("b@chat.test");
    await submitters.for(a).submit(mail(4));
    await submitters.for(a).submit(mail(5));
    expect(slept).toEqual([1_000]);
  });
});
