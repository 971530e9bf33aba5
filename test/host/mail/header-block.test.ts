// headerBlock: a raw message's header block, from its first bytes only.
import { describe, expect, it } from "vitest";
import { headerBlock } from "../../../host/mail/header-block.js";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("headerBlock", () => {
  it("ends at the first empty line, CRLF or LF", () => {
    expect(headerBlock(bytes("A: 1\r\nB: 2\r\n\r\nC: body"), 1024)).toBe("A: 1\r\nB: 2");
    expect(headerBlock(bytes("A: 1\n\nB: body"), 1024)).toBe("A: 1");
  });

  it("reads at most scanBytes: a header past them is not seen (at the cap it is)", () => {
    const raw = bytes("A: 1\r\nB: 2\r\n\r\n");
    expect(headerBlock(raw, 10)).toBe("A: 1\r\nB: 2");
    expect(headerBlock(raw, 9)).toBe("A: 1\r\nB: ");
  });

  it("keeps every byte as one character (latin1), decoding nothing", () => {
    expect(headerBlock(Uint8Array.of(0x41, 0x3a, 0x20, 0xff, 0x0d, 0x0a, 0x0d, 0x0a), 64)).toBe("A: \u00ff");
  });
});
