// core/address.ts: the four address checks each door uses, and the two halves of an address.
import { describe, expect, it } from "vitest";
import { domainOf, isAccountAddress, isCanonicalAddress, isContactAddress, isHeaderAddress, isReceivedAddress, localPartOf } from "../../core/address.js";

describe("address checks", () => {
  it("canonical (what the host sends to): lower-case dot-atom at a hostname; no upper case, empty labels or hyphen edges", () => {
    for (const ok of ["bob@example.org", "a.b+tag@chat.example.org", "x@localhost", "o'neil@x-y.org"]) expect(isCanonicalAddress(ok), ok).toBe(true);
    for (const bad of [
      "Bob@example.org",
      "a..b@x.org",
      ".a@x.org",
      "a@-x.org",
      "a@x..org",
      "a@x.org.",
      "a b@x.org",
      "a@b@x.org",
      "not-an-address",
      "<a@x.org>",
    ]) {
      expect(isCanonicalAddress(bad), bad).toBe(false);
    }
  });

  it("account (a bot's folder and From:): one @, no whitespace, separators, quotes, angle brackets or ..", () => {
    for (const ok of ["echobot01@chat.example.org", "Echo@Chat.Test", "bot@[127.0.0.1]"]) expect(isAccountAddress(ok), ok).toBe(true);
    for (const bad of ["../x@y", "a/b@y", "a\\b@y", "a@b/c", "a b@y", "a\r\n@y", "a@b@c", 'a"@y', "<a@y>", "a@y..z", "nobody", ""]) {
      expect(isAccountAddress(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("header (written bare inside <…>): atext at a hostname, any case", () => {
    expect(isHeaderAddress("Bob.O'Neil+x@Example.ORG")).toBe(true);
    for (const bad of ["a b@x.org", "a@x_y.org", "a@x.org>", "a@b@c", "a\r\nBcc: x@y"]) expect(isHeaderAddress(bad), bad).toBe(false);
  });

  it("received (a header's bare address): lenient, but one @ and nothing that ends an address in a list", () => {
    expect(isReceivedAddress("ünïcode@exämple.org")).toBe(true);
    for (const bad of ["a@b,c@d", "a;b@c", 'a"@b', "a b@c", "a@b@c", "ab"]) expect(isReceivedAddress(bad), bad).toBe(false);
  });

  it("contact (a manifest's author.contact): someone@domain.tld", () => {
    expect(isContactAddress("author@example.org")).toBe(true);
    for (const bad of ["author@localhost", "author@example.", "a b@example.org", "<author@example.org>"]) expect(isContactAddress(bad), bad).toBe(false);
  });
});

describe("address halves", () => {
  it("domainOf: after the last @, or the whole text without one", () => {
    expect(domainOf("bot@chat.example.org")).toBe("chat.example.org");
    expect(domainOf('"a@b"@example.org')).toBe("example.org");
    expect(domainOf("localhost")).toBe("localhost");
  });

  it("localPartOf: before the last @, or empty without one", () => {
    expect(localPartOf("mailer-daemon@relay.example.org")).toBe("mailer-daemon");
    expect(localPartOf('"a@b"@example.org')).toBe('"a@b"');
    expect(localPartOf("")).toBe("");
    expect(localPartOf("nobody")).toBe("");
  });
});
