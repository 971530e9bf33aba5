// Core 1.139 and older write To outside the encryption only: the bot takes the outer To when, and
// only when, the protected headers carry none (issue 10; host/wire/mime/outer-recipients.ts).
import { describe, expect, it } from "vitest";
import { withOuterRecipients } from "../../../../host/wire/mime/outer-recipients.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const crlf = (lines: string[]) => new Uint8Array(Buffer.from(lines.join("\r\n")));

const outerWithTo = (to: string) => parseOuter(crlf(["From: <ann@chat.test>", `To: ${to}`, "Subject: [...]", "", ""]), LIMITS);
const innerWith = (headers: string[]) =>
  parseInner(crlf(["Content-Type: text/plain; charset=utf-8", "From: <ann@chat.test>", ...headers, "Chat-Version: 1.0", "", "hi", ""]), LIMITS);

describe("withOuterRecipients", () => {
  it("no protected To: the outer To's addresses, lowercased, with their names (a quoted comma is part of a name)", async () => {
    const inner = withOuterRecipients(await innerWith([]), outerWithTo('<Bot@Chat.test>, "Ben, B." <ben@chat.test>'));
    expect(inner.to).toEqual([
      { addr: "bot@chat.test", name: "" },
      { addr: "ben@chat.test", name: "Ben, B." },
    ]);
  });

  it("a protected To wins, even an empty group (hidden-recipients): the outer one is never merged in", async () => {
    const protectedTo = await innerWith(["To: <ben@chat.test>"]);
    expect(withOuterRecipients(protectedTo, outerWithTo("<bot@chat.test>")).to.map((t) => t.addr)).toEqual(["ben@chat.test"]);
    const hidden = await innerWith(['To: "hidden-recipients": ;']);
    expect(withOuterRecipients(hidden, outerWithTo("<bot@chat.test>")).to).toEqual([]);
  });

  it("an outer To with no usable address (hidden-recipients, garbage) leaves the message without recipients", async () => {
    for (const to of ['"hidden-recipients": ;', "not an address", "<>"]) {
      expect(withOuterRecipients(await innerWith([]), outerWithTo(to)).to).toEqual([]);
    }
  });
});
