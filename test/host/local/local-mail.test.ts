import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { IncomingMessageData } from "../../../std/contract.js";
import { parseLocalMail } from "../../../host/local/local-mail.js";
import { errorCode } from "../../support/errors.js";

const fixture = (name: string) => readFile(new URL(`../../fixtures/mail/${name}`, import.meta.url));

/** The bytes of the attachment in attachment.eml: 2048 bytes, every value 0-255 present. */
function attachmentBytes(): Uint8Array {
  const bytes = new Uint8Array(2048);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 256;
  return bytes;
}

const crlf = (...lines: string[]) => Buffer.from(lines.join("\r\n"));

/** A mail file as the bot's message and its files' bytes (what `chatbot run --mail` hands the bot). */
async function parsePlainMessage(raw: Uint8Array, options: Parameters<typeof parseLocalMail>[1] = {}) {
  const { event, attachments } = await parseLocalMail(raw, options);
  if (event.kind !== "message") throw new Error(`expected a message event, got ${event.kind}`);
  return { message: event.message as IncomingMessageData, attachments };
}

describe("local mail: a mail file becomes the msg a bot sees", () => {
  it("maps a plain text mail: text, lowercased sender, a 1:1 chat with the sender, id and date", async () => {
    const { message, attachments } = await parsePlainMessage(await fixture("plain.eml"));
    expect(message).toEqual({
      id: "<plain-1@example.org>",
      text: "hello there",
      from: { addr: "alice@example.org", name: "Alice Example" },
      chat: { id: "alice@example.org", type: "single", name: "Alice Example" },
      attachments: [],
      date: Date.UTC(2025, 10, 23, 10, 0, 0),
    });
    expect(attachments).toEqual([]);
  });

  it("names a 1:1 chat after the address when the sender gave no name", async () => {
    const { message } = await parsePlainMessage(await fixture("command.eml"));
    expect(message.from).toEqual({ addr: "bob@example.org", name: "" });
    expect(message.chat).toEqual({ id: "bob@example.org", type: "single", name: "bob@example.org" });
  });

  it("sets command when the text starts with /name", async () => {
    const { message } = await parsePlainMessage(await fixture("command.eml"));
    expect(message.text).toBe("/remind 2h tea");
    expect(message.command).toEqual({ name: "remind", args: "2h tea" });
  });

  it("leaves command out when the text is not a command", async () => {
    const { message } = await parsePlainMessage(await fixture("plain.eml"));
    expect(message).not.toHaveProperty("command");
  });

  it("hands over a 2 KB binary attachment byte for byte, with its size, name and type", async () => {
    const { message, attachments } = await parsePlainMessage(await fixture("attachment.eml"));
    expect(message.text).toBe("here is a file");
    expect(message.attachments).toEqual([{ name: "blob.bin", type: "application/octet-stream", size: 2048 }]);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(attachments[0]!).equals(Buffer.from(attachmentBytes()))).toBe(true);
  });

  it("puts a Delta Chat group mail into the group chat group:<Chat-Group-ID>, with its decoded name", async () => {
    const { message } = await parsePlainMessage(await fixture("group.eml"));
    // Chat-Group-Name is an RFC 2047 encoded word (=?utf-8?q?Th=C3=A9_club?=), as Delta Chat sends it.
    expect(message.chat).toEqual({ id: "group:Gk3xQ9pLm2w", type: "group", name: "Thé club" });
    expect(message.from.addr).toBe("carol@example.org");
  });

  it.each([
    ["a plain ASCII name as it is", "Tea club", "Tea club"],
    ["a base64 word", "=?UTF-8?B?VGjDqSBjbHVi?=", "Thé club"],
    ["a character split across two adjacent words, without the space between them", "=?utf-8?q?Th=C3?= =?utf-8?q?=A9_club?=", "Thé club"],
    ["a word next to plain text, keeping the space", "Team =?utf-8?q?=C3=A9t=C3=A9?=", "Team été"],
    ["a latin-1 word", "=?iso-8859-1?q?caf=E9?=", "café"],
    ["an unknown charset as the raw word", "=?x-no-such-charset?q?abc?=", "=?x-no-such-charset?q?abc?="],
  ])("decodes the Chat-Group-Name: %s", async (_what, encoded, name) => {
    // A group id as core makes them (the relay drops a mail whose id is not one: "g1" was too short).
    const raw = crlf("From: carol@example.org", "Chat-Group-ID: Gk3xQ9pLm2w", `Chat-Group-Name: ${encoded}`, "", "hi");
    expect((await parsePlainMessage(raw)).message.chat).toEqual({ id: "group:Gk3xQ9pLm2w", type: "group", name });
  });

  it("synthesizes a stable id for a mail without Message-ID: same bytes, same id", async () => {
    const raw = await fixture("no-message-id.eml");
    const first = await parsePlainMessage(raw);
    const second = await parsePlainMessage(Buffer.from(raw));
    expect(first.message.id).toMatch(/^<[0-9a-f]{32}@chatbot\.local>$/);
    expect(second.message.id).toBe(first.message.id);
    const other = await parsePlainMessage(Buffer.concat([raw, Buffer.from("more\r\n")]));
    expect(other.message.id).not.toBe(first.message.id);
  });

  it("takes the date from the injected clock when the mail has no Date header", async () => {
    const raw = crlf("From: a@example.org", "Message-ID: <d@example.org>", "", "no date");
    const { message } = await parsePlainMessage(raw, { clock: { now: () => 1_700_000_000_000 } });
    expect(message.date).toBe(1_700_000_000_000);
  });

  it("refuses a mail without From as E_MAIL_MALFORMED", async () => {
    expect(await errorCode(parsePlainMessage(await fixture("no-from.eml")))).toBe("E_MAIL_MALFORMED");
  });
});

describe("local mail: the size cap is checked before parsing", () => {
  it("parses a mail of exactly maxBytes bytes", async () => {
    const raw = await fixture("plain.eml");
    const { message } = await parsePlainMessage(raw, { maxBytes: raw.byteLength });
    expect(message.text).toBe("hello there");
  });

  it("refuses a mail of maxBytes + 1 bytes with E_MAIL_TOO_LARGE", async () => {
    const raw = await fixture("plain.eml");
    expect(await errorCode(parsePlainMessage(raw, { maxBytes: raw.byteLength - 1 }))).toBe("E_MAIL_TOO_LARGE");
  });

  it("never hands an over-cap mail to the parser: garbage one byte over is too large, not malformed", async () => {
    // Not a mail at all (no From): the parser would say E_MAIL_MALFORMED, as the at-cap case shows.
    const garbage = new Uint8Array(101).fill(0x00);
    expect(await errorCode(parsePlainMessage(garbage.subarray(0, 100), { maxBytes: 100 }))).toBe("E_MAIL_MALFORMED");
    expect(await errorCode(parsePlainMessage(garbage, { maxBytes: 100 }))).toBe("E_MAIL_TOO_LARGE");
  });
});

// No "within N ms" here (timing lives in make bench): a hang or a quadratic blow-up runs into the
// test timeout (vitest.config.ts, 60 s) and fails the test.
describe("local mail: hostile mail fails cleanly and fast", () => {
  // The relay's inner-MIME caps (INNER_MAX_MIME_NODES, INNER_MAX_HEADER_BYTES) apply: too large, as on the relay.
  it("attack: 10 000 nested multipart levels are refused as too large within seconds", async () => {
    const depth = 10_000;
    const lines = ["From: mallory@example.org", "MIME-Version: 1.0"];
    for (let i = 0; i < depth; i++) lines.push(`Content-Type: multipart/mixed; boundary="b${i}"`, "", `--b${i}`);
    lines.push("Content-Type: text/plain", "", "deep");
    for (let i = depth - 1; i >= 0; i--) lines.push(`--b${i}--`);
    expect(await errorCode(parsePlainMessage(crlf(...lines)))).toBe("E_MAIL_TOO_LARGE");
  });

  it("attack: a 5 MB single header line is refused as too large within seconds", async () => {
    const raw = crlf("From: mallory@example.org", `X-Padding: ${"a".repeat(5 * 1024 * 1024)}`, "Content-Type: text/plain", "", "body", "");
    expect(await errorCode(parsePlainMessage(raw))).toBe("E_MAIL_TOO_LARGE");
  });
});

describe("local mail: the relay's chat-text simplification and drops", () => {
  it("a Delta Chat reply's top quote and signature footer are not part of msg.text, so the command is seen", async () => {
    const { message } = await parsePlainMessage(await fixture("quoted-footer.eml"));
    expect(message.text).toBe("/remind 2h tea");
    expect(message.command).toEqual({ name: "remind", args: "2h tea" });
  });

  it("a reaction mail is msg.reaction with no text", async () => {
    const { message } = await parsePlainMessage(await fixture("reaction.eml"));
    expect(message).toMatchObject({ text: "", reaction: { emoji: "\u{1F44D}", to: "<bot-answer-1@example.net>" } });
  });

  it.each([
    ["an automatic response", ["Auto-Submitted: auto-replied"], /automatic response/],
    ["a bounce", ["Content-Type: multipart/report; report-type=delivery-status; boundary=x"], /bounce/],
    ["a deletion", ["Chat-Delete: <old@example.org>"], /deletions and edits/],
    ["an edit", ["Chat-Edit: <old@example.org>"], /deletions and edits/],
    ["a SecureJoin step", ["Secure-Join: vc-request"], /SecureJoin step vc-request/],
    ["a group member added", ["Chat-Group-ID: Gk3xQ9pLm2w", "Chat-Group-Member-Added: dave@example.org"], /group membership or name change/],
    ["half of a split message", ["Chat-Is-Post-Message: 1"], /split message/],
  ])("refuses %s as the relay drops it: E_MAIL_DROPPED with the reason", async (_what, headers, reason) => {
    const raw = crlf("From: alice@example.org", "Message-ID: <drop@example.org>", ...headers, "", "hi", "");
    const refusal = parseLocalMail(raw);
    expect(await errorCode(refusal)).toBe("E_MAIL_DROPPED");
    await expect(refusal).rejects.toThrow(reason);
  });

  it("a webxdc status update mail becomes a webxdc event, as on the relay", async () => {
    const raw = crlf(
      "From: Alice <alice@example.org>",
      "Message-ID: <upd-1@example.org>",
      "In-Reply-To: <app-1@example.net>",
      'Content-Type: multipart/report; report-type=status-update; boundary="u"',
      "",
      "--u",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "This is a status update.",
      "--u",
      "Content-Type: application/json",
      'Content-Disposition: attachment; filename="status-update.json"',
      "",
      '{"updates":[{"payload":{"vote":1}},{"payload":{"vote":2},"info":"changed"}]}',
      "--u--",
      "",
    );
    const { event, key } = await parseLocalMail(raw);
    expect(key).toBe("<upd-1@example.org>");
    const chat = { id: "alice@example.org", type: "single", name: "Alice" };
    const from = { addr: "alice@example.org", name: "Alice" };
    expect(event).toEqual({
      kind: "webxdc",
      update: { instanceId: "<app-1@example.net>", from, chat, payload: { vote: 1 } },
      more: [{ instanceId: "<app-1@example.net>", from, chat, payload: { vote: 2 }, info: "changed" }],
    });
  });
});
