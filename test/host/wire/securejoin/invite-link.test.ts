import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inviteLink, openpgp4fprUri } from "../../../../host/wire/securejoin/invite-link.js";

const recorded = JSON.parse(readFileSync(new URL("../../../fixtures/deltachat/plain/keys/securejoin.json", import.meta.url), "utf8")) as {
  qr: string;
  inviterFingerprint: string;
  auth: string;
  invitenumber: string;
};

describe("invite link", () => {
  it("is byte-identical to the link Delta Chat core 2.57 made for the same key, address, name and tokens", () => {
    const link = inviteLink({
      fingerprint: recorded.inviterFingerprint,
      addr: "bob@chat.test",
      name: "Bob",
      invitenumber: recorded.invitenumber,
      auth: recorded.auth,
    });
    expect(link).toBe(recorded.qr);
  });

  it("percent-encodes the address and name like core (letters, digits and dots stay)", () => {
    const link = inviteLink({ fingerprint: "a".repeat(40), addr: "echo-bot_1@chat.test", name: "Echo Bot ü", invitenumber: "I", auth: "S" });
    expect(link).toBe(`https://i.delta.chat/#${"A".repeat(40)}&v=3&i=I&s=S&a=echo%2Dbot%5F1%40chat.test&n=Echo%20Bot%20%C3%BC`);
  });

  it("a group invite carries the group id and name (dots encoded too) instead of the bot's name", () => {
    const link = inviteLink({
      fingerprint: "B".repeat(40),
      addr: "b@x.org",
      name: "Bot",
      invitenumber: "I",
      auth: "S",
      group: { id: "grp-ID_123", name: "Club v1.0" },
    });
    expect(link).toBe(`https://i.delta.chat/#${"B".repeat(40)}&v=3&i=I&s=S&a=b%40x.org&g=Club%20v1%2E0&x=grp-ID_123`);
  });

  it("the OPENPGP4FPR form has the same parameters", () => {
    const uri = openpgp4fprUri({ fingerprint: recorded.inviterFingerprint, addr: "bob@chat.test", name: "Bob", invitenumber: "I", auth: "S" });
    expect(uri).toBe(`OPENPGP4FPR:${recorded.inviterFingerprint}#v=3&i=I&s=S&a=bob%40chat.test&n=Bob`);
  });

  it("refuses a fingerprint that is not 40 hex digits", () => {
    expect(() => inviteLink({ fingerprint: "XYZ", addr: "a@b", name: "", invitenumber: "I", auth: "S" })).toThrow(/fingerprint/);
  });
});
