import { describe, expect, it } from "vitest";
import { escapeChatText, simplifyChatText } from "../../../../host/wire/mime/chat-text.js";
import { decodeEncodedWords, encodeWords } from "../../../../host/wire/mime/encoded-words.js";
import { foldHeader, formatAddress, formatDate, formatParameter, spreadKeydata } from "../../../../host/wire/mime/header-format.js";
import { errorCode } from "./fixtures.js";

describe("header-format: RFC 5322 folding, RFC 2047 words, RFC 2231 parameters", () => {
  it("encodeWords splits long text into ≤ 75-character words without cutting a character, and decodes back", () => {
    const text = "Grüße 🎉 ".repeat(40);
    const encoded = encodeWords(text);
    for (const word of encoded.split(" ")) expect(word.length).toBeLessThanOrEqual(75);
    expect(decodeEncodedWords(encoded)).toBe(text);
  });

  it("foldHeader folds at whitespace to ≤ 78 columns and ends in CRLF", () => {
    const folded = foldHeader("References", Array.from({ length: 20 }, (_, i) => `<message-${i}@relay.example>`).join(" "));
    expect(folded.endsWith("\r\n")).toBe(true);
    for (const line of folded.slice(0, -2).split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
    expect(folded.replace(/\r\n(?=[ \t])/g, "")).toContain("<message-0@relay.example> <message-1@relay.example>");
  });

  it("foldHeader refuses a CR or LF in a value and an unfoldable word over 998 bytes", async () => {
    expect(await errorCode(() => foldHeader("Subject", "a\r\nBcc: x@y"))).toBe("E_MAIL_COMPOSE");
    expect(await errorCode(() => foldHeader("X-Long", "a".repeat(1000)))).toBe("E_MAIL_COMPOSE");
  });

  it("spreadKeydata breaks unbroken key data so an Autocrypt header folds within 78 columns", () => {
    const value = spreadKeydata(`addr=bot@relay.example; prefer-encrypt=mutual; keydata=${"A".repeat(1000)}`);
    for (const line of foldHeader("Autocrypt", value).slice(0, -2).split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
    expect(value.replace(/^.*keydata=/, "").replace(/\s/g, "")).toBe("A".repeat(1000));
  });

  it("formatParameter: quoted for simple names, RFC 2231 for non-ASCII, continuations when long", () => {
    expect(formatParameter("filename", "report 2026.pdf")).toBe('filename="report 2026.pdf"');
    expect(formatParameter("filename", "ä.txt")).toBe("filename*=utf-8''%C3%A4.txt");
    expect(formatParameter("filename", "a;b.txt")).toBe("filename*=utf-8''a%3Bb.txt");
    const long = formatParameter("filename", "ü".repeat(30));
    expect(long).toMatch(/^filename\*0\*=utf-8''(%C3%BC)+; filename\*1\*=(%C3%BC)+/);
  });

  it("formatAddress quotes plain names, encodes others, and formatDate writes RFC 5322 UTC dates", () => {
    expect(formatAddress({ addr: "a@x.example", name: 'A "B"' })).toBe('"A \\"B\\"" <a@x.example>');
    expect(formatAddress({ addr: "a@x.example", name: "Ä" })).toBe("=?utf-8?B?w4Q=?= <a@x.example>");
    expect(formatAddress({ addr: "a@x.example" })).toBe("<a@x.example>");
    expect(formatDate(new Date(Date.UTC(2026, 10, 23, 8, 59, 55)))).toBe("Mon, 23 Nov 2026 08:59:55 +0000");
  });
});

describe("chat-text: core's footer/quote rules", () => {
  it("escaping then simplifying gives the text back", () => {
    for (const text of ["-- x", "a\n-- b", "> q", "plain"]) expect(simplifyChatText(escapeChatText(text))).toBe(text);
  });

  it("drops a forward header, a top quote and the footer; keeps inner blank lines", () => {
    const body = "---------- Forwarded message ----------\nFrom: x\n\n> old\n\nnew\n\n\nmore\n-- \nstatus line";
    expect(simplifyChatText(body)).toBe("new\n\n\nmore");
  });
});
