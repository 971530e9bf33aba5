// The committed real-core mail (test/fixtures/real-core-mail, record-real-core-mail.ts) still
// means what it meant when it was recorded: each mail the bot ran on is an event again for an
// account opened from the recorded files — the texts as text, the file with its attachment, the
// group message in its group — and each handshake mail is a SecureJoin step. `make bench` measures
// these mails; if the host stops reading them, this fails rather than the bench measuring drops.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { openBotAccount } from "../../host/wire/bot-account.js";
import { receiveMail } from "../../host/wire/inbound.js";
import { REAL_CORE_MAIL_DIR, readRecording } from "./real-core-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "real-core-fixtures-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the recorded real-core mail", async () => {
  const recording = await readRecording();

  it("is from a 2.x core: a QR join's handshake, then texts, a file and a group message", () => {
    expect(recording.core).toMatch(/^2\./);
    expect(recording.mails.map((m) => m.label)).toEqual(["handshake", "handshake", ...recording.mails.slice(2, -2).map(() => "text"), "file", "group"]);
    expect(recording.mails.filter((m) => m.label === "text").length).toBeGreaterThanOrEqual(3);
  });

  it("every message the bot ran on is an event again, for the recorded account", async () => {
    const data = join(work, "data");
    cpSync(join(REAL_CORE_MAIL_DIR, "account"), join(data, "bots", recording.botAddr), { recursive: true });
    const account = await openBotAccount(data, recording.botAddr, recording.botName);
    for (const mail of recording.mails.filter((m) => m.outcome === "ran")) {
      const inbound = await receiveMail(account, mail.raw, { maxBytes: MAIL_MAX_BYTES }, { deferSeen: true });
      if (inbound.kind !== "event" || inbound.event.kind !== "message") throw new Error(`${mail.label}: ${JSON.stringify(inbound).slice(0, 300)}`);
      const { message } = inbound.event;
      expect(message.from.addr).toBe(recording.userAddr);
      if (mail.label === "text") expect(message.text).toMatch(/^hello bot \d+$/);
      if (mail.label === "file") expect(inbound.attachments.length).toBe(1);
      expect(message.chat.type).toBe(mail.label === "group" ? "group" : "single");
    }
  });

  it("hides its recipients as real cores do (wildcard key IDs), which synthetic mail does not", () => {
    const text = Buffer.from(recording.mails.find((m) => m.label === "text")!.raw).toString("latin1");
    // A PKESK v3 with key ID 0 starts "wU4DAAAAAAAAAAAS" in armor (tag 1, length 78, version 3, key ID 0, ECDH).
    expect(text).toContain("wU4DAAAAAAAAAAAS");
  });
});
