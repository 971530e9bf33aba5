// Webxdc status updates (PROTOCOL §5): core batches updates sent in quick succession into one mail,
// so every update of a mail must reach the bot, in order — not only the first.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { receiveMail } from "../../../host/wire/inbound.js";
import { openBotAccount } from "../../../host/wire/bot-account.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { newIdentity, userMail } from "../../support/user-mail.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const BOT = "pollbot@chat.test";
const ALICE = "alice@chat.test";
const APP = "<app1@chat.test>";

let alice: BotIdentity;
beforeAll(async () => {
  alice = await newIdentity(ALICE);
});

async function receiveUpdates(updates: unknown[]) {
  const account = await openBotAccount(mkdtempSync(join(tmpdir(), "inbound-webxdc-")), BOT, "Poll Bot");
  const mail = await userMail({
    from: ALICE,
    to: BOT,
    recipientKey: account.identity.publicKey,
    signer: alice,
    inReplyTo: APP,
    body: { kind: "webxdc-status", updates },
  });
  return receiveMail(account, mail.raw, LIMITS);
}

describe("inbound: webxdc status updates", () => {
  it("a mail with three updates is one event carrying all three, in order", async () => {
    const result = await receiveUpdates([{ payload: { vote: 1 } }, { payload: { vote: 2 }, info: "changed" }, { payload: null, summary: "s" }]);
    expect(result.kind, JSON.stringify(result)).toBe("event");
    if (result.kind !== "event" || result.event.kind !== "webxdc") throw new Error("not a webxdc event");
    expect(result.event.update).toMatchObject({ instanceId: APP, payload: { vote: 1 }, from: { addr: ALICE } });
    expect(result.event.more?.map((u) => [u.payload, u.info, u.summary])).toEqual([
      [{ vote: 2 }, "changed", undefined],
      [null, undefined, "s"],
    ]);
  });

  it("a mail with one update has no `more`", async () => {
    const result = await receiveUpdates([{ payload: 7 }]);
    if (result.kind !== "event" || result.event.kind !== "webxdc") throw new Error(`not a webxdc event: ${JSON.stringify(result)}`);
    expect(result.event.update.payload).toBe(7);
    expect(result.event.more).toBeUndefined();
  });
});
