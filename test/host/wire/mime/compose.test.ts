import { randomBytes } from "node:crypto";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { composeEncryptedOuter, composeInner, newMessageId, type InnerBody, type InnerMessage } from "../../../../host/wire/mime/compose.js";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { capture, errorCode } from "./fixtures.js";

const LIMITS = { maxBytes: 10_000_000 };

/** A real Autocrypt value from the captures, with its key data as one unbroken base64 word. */
function longAutocrypt(): string {
  const recorded = /^Autocrypt: ([\s\S]*?)\r\n(?![ \t])/m.exec(capture("plain/02.decrypted.eml").toString("utf8"))![1]!;
  return recorded.replace(/\r\n[ \t]+/g, "").replace(/keydata=(.*)$/, (_, data: string) => `keydata=${data.replace(/\s+/g, "")}`);
}

function message(body: InnerBody, extra: Partial<InnerMessage> = {}): InnerMessage {
  return {
    from: { addr: "bot@relay.example", name: "Bötchen 🤖" },
    to: [{ addr: "alice@relay.example", name: 'Alice "Al" Müller' }, { addr: "bob@relay.example" }],
    date: new Date(Date.UTC(2026, 10, 23, 8, 59, 58)),
    messageId: "<mid-1@relay.example>",
    subject: "Re: Grüppchen",
    inReplyTo: "<parent@relay.example>",
    references: ["<root@relay.example>", "<parent@relay.example>"],
    headers: [
      ["Chat-Version", "1.0"],
      ["Auto-Submitted", "auto-generated"],
      ["Autocrypt", longAutocrypt()],
      ["Chat-Group-ID", "abcdefghijk"],
      ["Chat-Group-Name", "Grüppchen 🎉"],
    ],
    body,
    ...extra,
  };
}

/** The wire rules for every composed byte: CRLF only, lines ≤ 998, header lines ≤ 78 where foldable. */
function expectWireClean(text: string): void {
  expect(text).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  for (const line of text.split("\r\n")) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(998);
  expect(text).toMatch(/^[\x00-\x7f]*$/);
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  for (const line of head.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
}

describe("compose: composeInner round trips through parseInner", () => {
  it("text with umlauts and emoji, group headers and a long Autocrypt header folded to ≤ 78 columns", async () => {
    const text = "Grüße aus Köln 🎉\nzweite Zeile — mit Gedankenstrich";
    const inner = composeInner(message({ kind: "text", text }));
    expectWireClean(inner);
    expect(inner).toMatch(/^Content-Type: text\/plain; charset="utf-8"; protected-headers="v1";\s+hp="cipher"\r\n/);
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.text).toBe(text);
    expect(parsed.from).toEqual({ addr: "bot@relay.example", name: "Bötchen 🤖" });
    expect(parsed.to).toEqual([{ addr: "alice@relay.example", name: 'Alice "Al" Müller' }, { addr: "bob@relay.example" }]);
    expect(parsed.subject).toBe("Re: Grüppchen");
    expect(parsed.date?.toISOString()).toBe("2026-11-23T08:59:58.000Z");
    expect(parsed.messageId).toBe("<mid-1@relay.example>");
    expect(parsed.inReplyTo).toBe("<parent@relay.example>");
    expect(parsed.references).toEqual(["<root@relay.example>", "<parent@relay.example>"]);
    expect(parsed.chatVersion).toBe("1.0");
    expect(parsed.autoSubmitted).toBe("auto-generated");
    expect(parsed.group).toEqual({ id: "abcdefghijk", name: "Grüppchen 🎉" });
    // The folded key data is the same key once whitespace is dropped (Autocrypt Level 1 §2.1).
    const keydata = (value: string | undefined) => /keydata=(.*)$/.exec(value ?? "")?.[1]?.replace(/\s+/g, "");
    expect(keydata(parsed.autocrypt)).toBe(keydata(longAutocrypt()));
    expect(parsed.autocrypt?.startsWith("addr=bob@chat.test; prefer-encrypt=mutual; keydata=")).toBe(true);
  });

  it("text that looks like a quote or a footer arrives unchanged (core's escaping)", async () => {
    for (const text of ["> not a quote\nreally", "-- \nnot a signature", "a\n-- b"]) {
      const parsed = await parseInner(Buffer.from(composeInner(message({ kind: "text", text }))), LIMITS);
      expect(parsed.text).toBe(text);
    }
  });

  it("a 300 kB file with a non-ASCII name: multipart/mixed, text then base64 attachment, bytes intact", async () => {
    const data = new Uint8Array(randomBytes(300_000));
    const name = "Übersicht – März 2026 (endgültig; v2) 📎.pdf";
    const inner = composeInner(message({ kind: "file", text: "siehe Anhang", file: { name, type: "application/pdf", data } }));
    expectWireClean(inner);
    expect(inner).toMatch(/filename\*0\*=utf-8''%C3%9Cbersicht/);
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.text).toBe("siehe Anhang");
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.name).toBe(name);
    expect(parsed.attachments[0]!.type).toBe("application/pdf");
    expect(Buffer.from(parsed.attachments[0]!.data).equals(Buffer.from(data))).toBe(true);
  });

  it("a webxdc status update: multipart/report with the JSON in status-update.json", async () => {
    const updates = [{ payload: { score: 42, name: "Jörg" }, info: "Jörg scored 42", summary: "42 🏆" }];
    const inner = composeInner(message({ kind: "webxdc-status", updates }, { references: [] }));
    expectWireClean(inner);
    expect(inner).toMatch(/^Content-Type: multipart\/report; report-type=status-update;/);
    expect(inner).toContain("\r\nWebxdc Status Update\r\n");
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.webxdcStatus).toEqual({ updates });
    expect(parsed.text).toBe("");
    expect(parsed.attachments).toEqual([]);
  });

  it("a reaction: a text part with Content-Disposition: reaction and the emoji as its body", async () => {
    const inner = composeInner(message({ kind: "reaction", emoji: "👍" }));
    expectWireClean(inner);
    expect(inner).toContain("\r\nContent-Disposition: reaction\r\n");
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.reaction).toEqual({ emoji: "👍" });
    expect(parsed.text).toBe("");
    expect(parsed.attachments).toEqual([]);
  });

  it("Secure-Join and Autocrypt-Gossip headers keep their order and values", async () => {
    const gossip = longAutocrypt().replace("; prefer-encrypt=mutual", "");
    const inner = composeInner(
      message(
        { kind: "text", text: "Secure-Join" },
        {
          headers: [
            ["Chat-Version", "1.0"],
            ["Auto-Submitted", "auto-generated"],
            ["Autocrypt-Gossip", gossip],
            ["Secure-Join", "vc-contact-confirm"],
          ],
        },
      ),
    );
    expectWireClean(inner);
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.secureJoin).toEqual({ step: "vc-contact-confirm" });
    expect(parsed.gossip).toHaveLength(1);
    expect([...parsed.headers.keys()].slice(-3)).toEqual(["auto-submitted", "autocrypt-gossip", "secure-join"]);
  });

  it("header injection: a CR/LF in a subject, name or extra header value cannot start a new header", async () => {
    const inner = composeInner(
      message(
        { kind: "text", text: "x" },
        {
          subject: "hi\r\nBcc: victim@evil.example",
          from: { addr: "bot@relay.example", name: "Bot\r\nX-Evil: 1" },
          headers: [
            ["Chat-Group-Name", "g\nX-Evil: 2"],
            ["Chat-Group-ID", "abcdefghijk"],
          ],
        },
      ),
    );
    expectWireClean(inner);
    expect(inner).not.toMatch(/^(Bcc|X-Evil):/im);
    const parsed = await parseInner(Buffer.from(inner), LIMITS);
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(parsed.headers.has("x-evil")).toBe(false);
  });

  it("refuses what it cannot write safely: bad header names, its own headers twice, bad addresses, ids and MIME types", async () => {
    const text: InnerBody = { kind: "text", text: "x" };
    expect(await errorCode(() => composeInner(message(text, { headers: [["Bad Name", "x"]] })))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(() => composeInner(message(text, { headers: [["From", "<x@y>"]] })))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(() => composeInner(message(text, { to: [{ addr: "a>b@x" }] })))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(() => composeInner(message(text, { messageId: "no-brackets@x" })))).toBe("E_MAIL_COMPOSE");
    const file = { name: "a", type: "text/plain\r\nX: y", data: new Uint8Array(1) };
    expect(await errorCode(() => composeInner(message({ kind: "file", text: "", file })))).toBe("E_MAIL_COMPOSE");
  });

  it("mailparser and the composer agree on a plain ASCII message written as 7bit", async () => {
    const inner = composeInner(message({ kind: "text", text: "plain ascii" }));
    expect(inner).toContain("Content-Transfer-Encoding: 7bit\r\n");
    expect((await simpleParser(Buffer.from(inner))).text?.trim()).toBe("plain ascii");
  });
});

describe("compose: composeEncryptedOuter is what filtermail calls encrypted (PROTOCOL §1)", () => {
  // A real armored message from the captures, in the CRLF form the crypto layer hands over.
  const armored = parseOuter(capture("plain/05.eml"), LIMITS).encrypted!.armored.replace(/\n/g, "\r\n");
  const outer = () =>
    composeEncryptedOuter({ from: "bot@relay.example", date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), messageId: "<m1@relay.example>", armored });

  it("the armored part is byte-identical to the input and starts exactly with the armor line and CRLF", () => {
    const text = outer();
    expectWireClean(text);
    const parsed = parseOuter(Buffer.from(text), LIMITS);
    expect(parsed.encrypted?.armored).toBe(armored);
    expect(parsed.encrypted?.armored.startsWith("-----BEGIN PGP MESSAGE-----\r\n")).toBe(true);
  });

  it('has exactly 2 leaf parts: application/pgp-encrypted "Version: 1", then application/octet-stream 7bit', () => {
    const text = outer();
    const boundary = /boundary="([^"]+)"/.exec(text)![1]!;
    const pieces = text.split(`\r\n--${boundary}`);
    // headers (with the empty preamble), part 1, part 2, closing "--"
    expect(pieces).toHaveLength(4);
    expect(pieces[3]).toBe("--\r\n");
    expect(text.split(`--${boundary}\r\n`)).toHaveLength(3);
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(text).toContain(`--${boundary}\r\nContent-Type: application/pgp-encrypted\r\nContent-Transfer-Encoding: 7bit\r\n\r\nVersion: 1\r\n`);
    expect(text).toContain(
      `--${boundary}\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n`,
    );
  });

  it("outer headers: bare From, hidden recipients, placeholder subject, Chat-Version, multipart/encrypted", () => {
    const parsed = parseOuter(Buffer.from(outer()), LIMITS);
    expect(parsed.from).toBe("bot@relay.example");
    expect(parsed.headers.get("from")).toEqual(["<bot@relay.example>"]);
    expect(parsed.headers.get("to")).toEqual(['"hidden-recipients": ;']);
    expect(parsed.headers.get("subject")).toEqual(["[...]"]);
    expect(parsed.headers.get("chat-version")).toEqual(["1.0"]);
    expect(parsed.headers.get("date")).toEqual(["Fri, 02 Jan 2026 03:04:05 +0000"]);
    expect(parsed.messageId).toBe("<m1@relay.example>");
    expect(parsed.headers.get("content-type")?.[0]).toMatch(/^multipart\/encrypted; protocol="application\/pgp-encrypted";\s+boundary="/);
  });

  it("refuses armored text with LF line ends, without the armor line, or with non-ASCII", async () => {
    const compose = (text: string) => () => composeEncryptedOuter({ from: "bot@relay.example", date: new Date(), messageId: "<m@x>", armored: text });
    expect(await errorCode(compose(armored.replace(/\r\n/g, "\n")))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(compose(`Version: x\r\n${armored}`))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(compose(armored.replace("-----END", "ü-----END")))).toBe("E_MAIL_COMPOSE");
  });

  it("newMessageId gives distinct URL-safe ids at the domain", async () => {
    const a = newMessageId("relay.example");
    expect(a).toMatch(/^<[A-Za-z0-9_-]{24}@relay\.example>$/);
    expect(newMessageId("relay.example")).not.toBe(a);
    expect(await errorCode(() => newMessageId("evil>\r\nX: y"))).toBe("E_MAIL_COMPOSE");
  });
});
