// Core 1.139 and older write To outside the encryption only, core 1.x also Autocrypt: the bot takes
// the outer copy when, and only when, the protected headers carry none (issue 10;
// host/wire/mime/outer-fallbacks.ts).
import { describe, expect, it } from "vitest";
import { withOuterFallbacks } from "../../../../host/wire/mime/outer-fallbacks.js";
import { parseOuter } from "../../../../host/wire/mime/parse-outer.js";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";
import { OUTER_TO_MAX_BYTES } from "../../../../core/limits.js";

const LIMITS = { maxBytes: 1024 * 1024 };
const crlf = (lines: string[]) => new Uint8Array(Buffer.from(lines.join("\r\n")));

const outerWithTo = (to: string) => parseOuter(crlf(["From: <ann@chat.test>", `To: ${to}`, "Subject: [...]", "", ""]), LIMITS);
const innerWith = (headers: string[]) =>
  parseInner(crlf(["Content-Type: text/plain; charset=utf-8", "From: <ann@chat.test>", ...headers, "Chat-Version: 1.0", "", "hi", ""]), LIMITS);

describe("withOuterFallbacks", () => {
  it("no protected To: the outer To's addresses, lowercased, with their names (a quoted comma is part of a name)", async () => {
    const inner = withOuterFallbacks(await innerWith([]), outerWithTo('<Bot@Chat.test>, "Ben, B." <ben@chat.test>'));
    expect(inner.to).toEqual([
      { addr: "bot@chat.test", name: "" },
      { addr: "ben@chat.test", name: "Ben, B." },
    ]);
  });

  it("a protected To wins, even an empty group (hidden-recipients): the outer one is never merged in", async () => {
    const protectedTo = await innerWith(["To: <ben@chat.test>"]);
    expect(withOuterFallbacks(protectedTo, outerWithTo("<bot@chat.test>")).to.map((t) => t.addr)).toEqual(["ben@chat.test"]);
    const hidden = await innerWith(['To: "hidden-recipients": ;']);
    expect(withOuterFallbacks(hidden, outerWithTo("<bot@chat.test>")).to).toEqual([]);
  });

  it("an outer To with no usable address (hidden-recipients, garbage) leaves the message without recipients", async () => {
    for (const to of ['"hidden-recipients": ;', "not an address", "<>"]) {
      expect(withOuterFallbacks(await innerWith([]), outerWithTo(to)).to).toEqual([]);
    }
  });
  it(`an outer To of OUTER_TO_MAX_BYTES (${OUTER_TO_MAX_BYTES}) bytes is read; one byte more counts as no recipients (parsing is not free)`, async () => {
    // n short addresses, then one whose local part fills the header to exactly `bytes`.
    const list = (bytes: number) => {
      const short = Array.from({ length: 3000 }, (_, i) => `<m${String(i).padStart(6, "0")}@chat.test>`).join(", ");
      const filler = bytes - short.length - ", ".length - "<@chat.test>".length;
      return `${short}, <${"x".repeat(filler)}@chat.test>`;
    };
    expect(list(OUTER_TO_MAX_BYTES).length).toBe(OUTER_TO_MAX_BYTES);
    const atCap = withOuterFallbacks(await innerWith([]), outerWithTo(list(OUTER_TO_MAX_BYTES)));
    expect(atCap.to.length).toBe(3001);
    const over = withOuterFallbacks(await innerWith([]), outerWithTo(list(OUTER_TO_MAX_BYTES + 1)));
    expect(over.to).toEqual([]);
  });
  it("Autocrypt: one outer value fills in a message without a protected one; a protected one wins; two outer values count as none", async () => {
    const outerWithAutocrypt = (...values: string[]) => parseOuter(crlf(["From: <ann@chat.test>", ...values.map((v) => `Autocrypt: ${v}`), "", ""]), LIMITS);
    expect(withOuterFallbacks(await innerWith([]), outerWithAutocrypt("addr=ann@chat.test; keydata=AAAA")).autocrypt).toBe("addr=ann@chat.test; keydata=AAAA");
    expect(
      withOuterFallbacks(await innerWith(["Autocrypt: addr=ann@chat.test; keydata=BBBB"]), outerWithAutocrypt("addr=ann@chat.test; keydata=AAAA")).autocrypt,
    ).toBe("addr=ann@chat.test; keydata=BBBB");
    expect(
      withOuterFallbacks(await innerWith([]), outerWithAutocrypt("addr=ann@chat.test; keydata=AAAA", "addr=ann@chat.test; keydata=CCCC")).autocrypt,
    ).toBeUndefined();
  });
});
