import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PeerStore } from "../../../host/wire/peer-store.js";
import { GroupStore, isValidGroupId, newGroupId } from "../../../host/wire/group-store.js";

const dir = () => mkdtempSync(join(tmpdir(), "stores-"));

describe("peer store", () => {
  it("remembers a key per address, case-insensitively, in a file only the host user can read", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, () => 5);
    await peers.remember("Alice@Example.org", "A".repeat(40), "a2V5");
    expect(await peers.get("alice@example.org")).toEqual({ addr: "alice@example.org", fingerprint: "A".repeat(40), keydataBase64: "a2V5", verified: false, updatedAt: 5 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("an attacker's unverified key never replaces a verified one", async () => {
    const peers = new PeerStore(join(dir(), "peers.json"), Date.now);
    await peers.remember("alice@example.org", "A".repeat(40), "good", { verified: true });
    const after = await peers.remember("alice@example.org", "E".repeat(40), "evil");
    expect(after.fingerprint).toBe("A".repeat(40));
    expect((await peers.get("alice@example.org"))?.keydataBase64).toBe("good");
  });

  it("the same key seen again unverified stays verified; a new verified key replaces the old", async () => {
    const peers = new PeerStore(join(dir(), "peers.json"), Date.now);
    await peers.remember("a@x.org", "A".repeat(40), "k1", { verified: true });
    expect((await peers.remember("a@x.org", "A".repeat(40), "k1")).verified).toBe(true);
    expect((await peers.remember("a@x.org", "B".repeat(40), "k2", { verified: true })).fingerprint).toBe("B".repeat(40));
  });
});

describe("group store", () => {
  it("new group ids are valid for core (URL-safe base64, 11–32 characters)", () => {
    expect(isValidGroupId(newGroupId())).toBe(true);
    expect(isValidGroupId("short")).toBe(false);
    expect(isValidGroupId("has space in it!!")).toBe(false);
  });

  it("keeps name and members, never lists the bot itself, and deduplicates addresses", async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "Bot@x.org", () => 9);
    const id = newGroupId();
    const group = await groups.update(id, (g) => ({ ...g, name: "Club", members: ["b@x.org", "A@x.org", "bot@x.org", "a@x.org"] }));
    expect(group).toEqual({ id, name: "Club", members: ["a@x.org", "b@x.org"], left: false, updatedAt: 9 });
    expect(await groups.get(id)).toEqual(group);
  });

  it("refuses an invalid group id", async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "bot@x.org", Date.now);
    await expect(groups.update("../../etc", (g) => g)).rejects.toThrow(/not a valid group id/);
  });
});
