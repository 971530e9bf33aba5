import { mkdtempSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  GOSSIP_PEERS_MAX,
  GROUP_MEMBERS_MAX,
  GROUP_NAME_MAX_CHARS,
  GROUP_STORE_MAX_BYTES,
  PARSED_PEER_KEYS_MAX,
  PARSED_KEY_TTL_MS,
} from "../../../core/limits.js";
import { PeerStore } from "../../../host/wire/peer-store.js";
import { JSON_LOG_COMPACT_LINES } from "../../../host/storage/json-log.js";
import { GroupStore, isValidGroupId, newGroupId } from "../../../host/wire/group-store.js";
import { newIdentity } from "../../support/user-mail.js";
import { systemClock } from "../../../core/clock.js";

const dir = () => mkdtempSync(join(tmpdir(), "stores-"));

describe("peer store: what other members gossip", () => {
  const gossip = (addr: string, fp = "G", keydata = `k-${addr}`) => ({ addr, fingerprint: fp.repeat(40), keydataBase64: keydata });

  it("fills in addresses with no key, marked as gossip, and reads them back from the file", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, { now: () => 7 });
    expect(await peers.rememberGossiped([gossip("Bob@x.org"), gossip("carol@x.org"), gossip("bob@x.org", "H")])).toBe(2);
    expect(await new PeerStore(file, systemClock).get("bob@x.org")).toEqual({
      addr: "bob@x.org",
      fingerprint: "G".repeat(40),
      keydataBase64: "k-Bob@x.org",
      verified: false,
      updatedAt: 7,
      gossip: true,
    });
  });

  it("never replaces a key the peer announced itself or SecureJoin verified; a gossiped key gives way to newer gossip and to the peer's own", async () => {
    const peers = new PeerStore(join(dir(), "peers.json"), systemClock);
    await peers.remember("own@x.org", "A".repeat(40), "own-key");
    await peers.remember("verified@x.org", "V".repeat(40), "verified-key", { verified: true });
    await peers.rememberGossiped([gossip("member@x.org", "M", "first")]);
    expect(await peers.takesGossip("own@x.org", "evil")).toBe(false);
    expect(await peers.takesGossip("member@x.org", "first")).toBe(false);
    expect(await peers.takesGossip("member@x.org", "newer")).toBe(true);
    const offered = [gossip("own@x.org", "E", "evil"), gossip("verified@x.org", "E", "evil"), gossip("member@x.org", "N", "newer")];
    expect(await peers.rememberGossiped(offered)).toBe(1);
    expect((await peers.get("own@x.org"))?.keydataBase64).toBe("own-key");
    expect((await peers.get("verified@x.org"))?.keydataBase64).toBe("verified-key");
    expect(await peers.get("member@x.org")).toMatchObject({ keydataBase64: "newer", gossip: true });
    // The member writes to the bot itself: its own key, no longer gossip.
    const own = await peers.remember("member@x.org", "N".repeat(40), "newer");
    expect(own.gossip).toBeUndefined();
    expect(await peers.rememberGossiped([gossip("member@x.org", "E", "evil")])).toBe(0);
  });

  it("at GOSSIP_PEERS_MAX peers from gossip alone it adds no more (a peer writing itself still is kept); one freed, one more fits", async () => {
    const max = 3;
    const peers = new PeerStore(join(dir(), "peers.json"), systemClock, max);
    expect(await peers.rememberGossiped([gossip("a@x.org"), gossip("b@x.org"), gossip("c@x.org"), gossip("d@x.org")])).toBe(max);
    expect(await peers.get("d@x.org")).toBeUndefined();
    await peers.remember("e@x.org", "E".repeat(40), "e-own");
    expect(await peers.get("e@x.org")).toBeDefined();
    // a's own key replaces the gossiped one: two from gossip alone, room for one more.
    await peers.remember("a@x.org", "A".repeat(40), "a-own");
    expect(await peers.rememberGossiped([gossip("d@x.org"), gossip("f@x.org")])).toBe(1);
    expect(await peers.get("d@x.org")).toMatchObject({ gossip: true });
    expect(await peers.get("f@x.org")).toBeUndefined();
    expect(GOSSIP_PEERS_MAX).toBeGreaterThan(max);
  });

  it("a mail's worth of made-up members (2 000) goes in with one call, and is in the file after it", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, systemClock);
    const many = Array.from({ length: 2000 }, (_, i) => gossip(`m${i}@evil.test`));
    expect(await peers.rememberGossiped(many)).toBe(2000);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")) as object)).toHaveLength(2000);
  });
});

describe("peer store: a snapshot and a log of changes (json-log.ts)", () => {
  const own = (i: number) => [`p${i}@x.org`, "P".repeat(40), `key-of-p${i}-${"k".repeat(600)}`] as const;

  it("a new peer among 2 000 known appends one line: the snapshot is not rewritten, and a fresh store reads both", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, { now: () => 1 });
    expect(
      await peers.rememberGossiped(Array.from({ length: 2000 }, (_, i) => ({ addr: `g${i}@x.org`, fingerprint: "G".repeat(40), keydataBase64: `g${i}` }))),
    ).toBe(2000);
    const snapshot = { size: statSync(file).size, mtime: statSync(file).mtimeMs };
    await peers.remember(...own(1));
    await peers.remember(...own(2));
    expect(statSync(file).size).toBe(snapshot.size);
    expect(statSync(file).mtimeMs).toBe(snapshot.mtime);
    const log = readFileSync(`${file}.log`, "utf8").trim().split("\n");
    expect(log).toHaveLength(2);
    expect(Buffer.byteLength(log[0]!)).toBeLessThan(1000); // the one peer, not the 2 000
    const fresh = new PeerStore(file, { now: () => 1 });
    expect(await fresh.get("p2@x.org")).toMatchObject({ fingerprint: "P".repeat(40), verified: false });
    expect(await fresh.get("g1999@x.org")).toMatchObject({ gossip: true });
  });

  it(`after JSON_LOG_COMPACT_LINES (${JSON_LOG_COMPACT_LINES}) changes the snapshot is rewritten and the log starts over; nothing is lost`, async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, { now: () => 1 });
    for (let i = 0; i <= JSON_LOG_COMPACT_LINES; i++) await peers.remember(...own(i)); // the first writes the snapshot
    expect(readFileSync(`${file}.log`, "utf8").trim().split("\n")).toHaveLength(JSON_LOG_COMPACT_LINES);
    await peers.remember(...own(JSON_LOG_COMPACT_LINES + 1));
    expect(readFileSync(`${file}.log`, "utf8")).toBe("");
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")) as object)).toHaveLength(JSON_LOG_COMPACT_LINES + 2);
    const fresh = new PeerStore(file, { now: () => 1 });
    for (const i of [0, 250, JSON_LOG_COMPACT_LINES + 1]) expect(await fresh.get(`p${i}@x.org`), `p${i}`).toBeDefined();
  });

  it("a line torn by a crash is skipped; a line the snapshot already holds changes nothing; the gossip cap counts both", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, { now: () => 1 }, 2);
    expect(await peers.rememberGossiped([{ addr: "g1@x.org", fingerprint: "G".repeat(40), keydataBase64: "g1" }])).toBe(1); // the snapshot
    expect(await peers.rememberGossiped([{ addr: "g2@x.org", fingerprint: "G".repeat(40), keydataBase64: "g2" }])).toBe(1); // a line
    const logged = readFileSync(`${file}.log`, "utf8");
    // A crash between the snapshot's rename and the log's truncation leaves lines the snapshot has; then a torn append.
    writeFileSync(`${file}.log`, `${logged}${logged}[{"addr":"torn@x.org","finger`);
    const fresh = new PeerStore(file, { now: () => 1 }, 2);
    expect(await fresh.get("torn@x.org")).toBeUndefined();
    expect(await fresh.get("g2@x.org")).toMatchObject({ keydataBase64: "g2", gossip: true });
    // Two from gossip alone already, counted once each: the cap of 2 admits no third.
    expect(await fresh.rememberGossiped([{ addr: "g3@x.org", fingerprint: "G".repeat(40), keydataBase64: "g3" }])).toBe(0);
    // An address is data: names of Object.prototype's members are not peers.
    expect(await fresh.get("constructor")).toBeUndefined();
  });
});

describe("peer store", () => {
  it("remembers a key per address, case-insensitively, in a file only the host user can read", async () => {
    const file = join(dir(), "peers.json");
    const peers = new PeerStore(file, { now: () => 5 });
    await peers.remember("Alice@Example.org", "A".repeat(40), "a2V5");
    expect(await peers.get("alice@example.org")).toEqual({
      addr: "alice@example.org",
      fingerprint: "A".repeat(40),
      keydataBase64: "a2V5",
      verified: false,
      updatedAt: 5,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("an attacker's unverified key never replaces a verified one", async () => {
    const peers = new PeerStore(join(dir(), "peers.json"), systemClock);
    await peers.remember("alice@example.org", "A".repeat(40), "good", { verified: true });
    const after = await peers.remember("alice@example.org", "E".repeat(40), "evil");
    expect(after.fingerprint).toBe("A".repeat(40));
    expect((await peers.get("alice@example.org"))?.keydataBase64).toBe("good");
  });

  it("the same key seen again unverified stays verified; a new verified key replaces the old", async () => {
    const peers = new PeerStore(join(dir(), "peers.json"), systemClock);
    await peers.remember("a@x.org", "A".repeat(40), "k1", { verified: true });
    expect((await peers.remember("a@x.org", "A".repeat(40), "k1")).verified).toBe(true);
    expect((await peers.remember("a@x.org", "B".repeat(40), "k2", { verified: true })).fingerprint).toBe("B".repeat(40));
  });

  // A cached key resolves to the very same object; a key parsed again to a new one. The keydata
  // variants differ only in leading spaces, which base64 decoding skips: one key, many cache entries.
  it("PARSED_PEER_KEYS_MAX: that many parsed keys stay cached for all bots; one more drops the least recently used", async () => {
    const alice = await newIdentity("alice@x.org");
    const keydata = Array.from({ length: PARSED_PEER_KEYS_MAX + 1 }, (_, i) => " ".repeat(i) + alice.keydataBase64);
    const one = new PeerStore(join(dir(), "peers.json"), { now: () => 0 });
    const other = new PeerStore(join(dir(), "other-peers.json"), { now: () => 0 });
    const first = await one.key(keydata[0]!);
    const second = await one.key(keydata[1]!);
    for (const variant of keydata.slice(2, PARSED_PEER_KEYS_MAX)) await one.key(variant);
    // Another bot's store gets the key the first one parsed (and it becomes the most recently used).
    expect(await other.key(keydata[0]!)).toBe(first);
    await one.key(keydata[PARSED_PEER_KEYS_MAX]!);
    expect(await other.key(keydata[0]!)).toBe(first);
    const again = await one.key(keydata[1]!);
    expect(again).not.toBe(second);
    expect(again.getFingerprint().toUpperCase()).toBe(alice.fingerprint);
  });

  it("PARSED_KEY_TTL_MS: a key parsed exactly that long ago is still cached; one ms later it is parsed again", async () => {
    const alice = await newIdentity("alice@x.org");
    const clock = { now: 1_000_000 };
    const peers = new PeerStore(join(dir(), "peers.json"), { now: () => clock.now });
    const first = await peers.key(alice.keydataBase64);
    clock.now += PARSED_KEY_TTL_MS;
    expect(await peers.key(alice.keydataBase64)).toBe(first);
    clock.now += 1;
    expect(await peers.key(alice.keydataBase64)).not.toBe(first);
  });
});

describe("group store: the parsed file is kept between calls (PARSED_GROUP_FILES_MAX_BYTES)", () => {
  it("reads the file once while it stays the same file; a write by anyone else (a new file by rename) is read again", async () => {
    const file = join(dir(), "groups.json");
    const groups = new GroupStore(file, "bot@x.org", { now: () => 1 });
    const id = newGroupId();
    await groups.update(id, (g) => ({ ...g, name: "Club", members: ["a@x.org"] }));
    // A whole second as its mtime (utimes cannot give back a nanosecond one): read again, kept.
    utimesSync(file, 1e9, 1e9);
    expect((await groups.get(id))?.name).toBe("Club");
    // The same file (inode, size, mtime) with other bytes: the kept parse answers, not the file.
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace("Club", "Clux"));
    utimesSync(file, 1e9, 1e9);
    expect((await groups.get(id))?.name).toBe("Club");
    // Another writer (host qr, or another store object) replaces the file: read again.
    const other = new GroupStore(file, "bot@x.org", { now: () => 2 });
    await other.update(id, (g) => ({ ...g, name: "Renamed" }));
    expect((await groups.get(id))?.name).toBe("Renamed");
    writeFileSync(`${file}.new`, text.replace("Club", "Third"));
    renameSync(`${file}.new`, file);
    expect((await groups.get(id))?.name).toBe("Third");
  });

  it("a caller changing what it got changes nothing kept", async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "bot@x.org", { now: () => 1 });
    const id = newGroupId();
    const made = await groups.update(id, (g) => ({ ...g, name: "Club", members: ["a@x.org"] }));
    made.members.push("evil@x.org");
    const got = await groups.get(id);
    got!.members.push("evil@x.org");
    got!.name = "Evil";
    (await groups.findByName("Club"))!.members.length = 0;
    expect(await groups.get(id)).toMatchObject({ name: "Club", members: ["a@x.org"] });
  });
});

describe("group store", () => {
  it("new group ids are valid for core (URL-safe base64, 11–32 characters)", () => {
    expect(isValidGroupId(newGroupId())).toBe(true);
    expect(isValidGroupId("short")).toBe(false);
    expect(isValidGroupId("has space in it!!")).toBe(false);
  });

  it("keeps name and members, never lists the bot itself, and deduplicates addresses", async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "Bot@x.org", { now: () => 9 });
    const id = newGroupId();
    const group = await groups.update(id, (g) => ({ ...g, name: "Club", members: ["b@x.org", "A@x.org", "bot@x.org", "a@x.org"] }));
    expect(group).toEqual({ id, name: "Club", members: ["a@x.org", "b@x.org"], left: false, updatedAt: 9 });
    expect(await groups.get(id)).toEqual(group);
  });

  it("refuses an invalid group id", async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "bot@x.org", systemClock);
    await expect(groups.update("../../etc", (g) => g)).rejects.toThrow(/not a valid group id/);
  });

  it(`GROUP_MEMBERS_MAX: a group keeps ${GROUP_MEMBERS_MAX} members, those it had first; one more is not added`, async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "bot@x.org", systemClock);
    const id = newGroupId();
    const first = Array.from({ length: GROUP_MEMBERS_MAX - 1 }, (_, i) => `z${i}@x.org`);
    await groups.update(id, (g) => ({ ...g, members: first }));
    const atCap = await groups.update(id, (g) => ({ ...g, members: [...g.members, "a-at-cap@x.org"] }));
    expect(atCap.members).toHaveLength(GROUP_MEMBERS_MAX);
    expect(atCap.members).toContain("a-at-cap@x.org");
    const over = await groups.update(id, (g) => ({ ...g, members: [...g.members, "a-over@x.org"] }));
    expect(over.members).toHaveLength(GROUP_MEMBERS_MAX);
    expect(over.members).not.toContain("a-over@x.org");
  });

  it(`GROUP_NAME_MAX_CHARS: a name of ${GROUP_NAME_MAX_CHARS} characters is kept whole, a longer one cut there`, async () => {
    const groups = new GroupStore(join(dir(), "groups.json"), "bot@x.org", systemClock);
    const name = "n".repeat(GROUP_NAME_MAX_CHARS);
    expect((await groups.update(newGroupId(), (g) => ({ ...g, name }))).name).toBe(name);
    expect((await groups.update(newGroupId(), (g) => ({ ...g, name: `${name}+` }))).name).toBe(name);
  });

  it("GROUP_STORE_MAX_BYTES: groups started one after another fill the store, then the one changed longest ago is forgotten (never the one being changed)", async () => {
    let now = 0;
    const file = join(dir(), "groups.json");
    const one = JSON.stringify({ id: "x".repeat(24), name: "", members: ["m@x.org"], left: false, updatedAt: 1 }).length + 24 + 4;
    const groups = new GroupStore(file, "bot@x.org", { now: () => now }, 2 + 3 * one + 20);
    const ids = Array.from({ length: 4 }, () => newGroupId());
    for (const [i, id] of ids.entries()) {
      now = i + 1;
      await groups.update(id, (g) => ({ ...g, members: ["m@x.org"] }));
    }
    // Three fit (with room for a rename): the fourth made the first go.
    expect(await groups.get(ids[0]!)).toBeUndefined();
    for (const id of ids.slice(1)) expect(await groups.get(id)).toBeDefined();
    // The second changes again: it stays, the third (now the oldest) goes when a fifth comes.
    now = 10;
    await groups.update(ids[1]!, (g) => ({ ...g, name: "renamed" }));
    now = 11;
    await groups.update(newGroupId(), (g) => ({ ...g, members: ["m@x.org"] }));
    expect(await groups.get(ids[1]!)).toMatchObject({ name: "renamed" });
    expect(await groups.get(ids[2]!)).toBeUndefined();
    expect(GROUP_STORE_MAX_BYTES).toBeGreaterThan(one * 1000);
  });
});
