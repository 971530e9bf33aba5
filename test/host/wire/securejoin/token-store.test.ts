import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TokenStore, newToken } from "../../../../host/wire/securejoin/token-store.js";
import { systemClock } from "../../../../core/clock.js";

const store = () => new TokenStore(join(mkdtempSync(join(tmpdir(), "tokens-")), "bot", "securejoin.json"), { now: () => 1234 });

describe("securejoin tokens", () => {
  it("tokens are 18 random bytes in URL-safe base64, like core's", () => {
    const token = newToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(newToken()).not.toBe(token);
  });

  it("the contact invite's tokens are created once and then stay the same", async () => {
    const tokens = store();
    const first = await tokens.forInvite();
    expect(await tokens.forInvite()).toEqual(first);
    expect(first.createdAt).toBe(1234);
  });

  it("each group has its own pair, found by invitenumber and by auth", async () => {
    const tokens = store();
    const contact = await tokens.forInvite();
    const group = await tokens.forInvite("grp1");
    expect(group.auth).not.toBe(contact.auth);
    expect(await tokens.byInvitenumber(group.invitenumber)).toEqual(group);
    expect(await tokens.byAuth(contact.auth)).toEqual(contact);
    expect(await tokens.byAuth("nope")).toBeUndefined();
    expect((await tokens.allAuths()).sort()).toEqual([contact.auth, group.auth].sort());
  });

  it("the token file is readable only by the host user", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tokens-")), "bot", "securejoin.json");
    await new TokenStore(file, systemClock).forInvite();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
