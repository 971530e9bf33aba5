// Joining Delta Chat pre-/post-messages (PROTOCOL §2) in receiveMail: the bot runs once per split
// message with the pre-message's text and the post-message's file, in either arrival order; a
// duplicate or forged half never runs it and never keeps the real half from joining.
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { receiveMail, type Inbound } from "../../../host/wire/inbound.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { PENDING_MAX_AGE_MS, PENDING_MAX_BYTES, PENDING_MAX_ENTRIES } from "../../../core/limits.js";
import { PendingStore } from "../../../host/wire/pending-store.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { newIdentity, splitMail, userMail } from "../../support/user-mail.js";

const LIMITS = { maxBytes: 32 * 1024 * 1024 };
const BOT = "echobot01@chat.test";
const ALICE = "alice@chat.test";

let alice: BotIdentity;
let mallory: BotIdentity;

beforeAll(async () => {
  [alice, mallory] = await Promise.all([newIdentity(ALICE), newIdentity(ALICE)]);
});

/** A fresh bot account; `clock.now` can be moved. */
async function bot(options: { aliceVerified?: boolean } = {}): Promise<{ account: BotAccount; dir: string; clock: { now: number } }> {
  const dir = mkdtempSync(join(tmpdir(), "inbound-split-"));
  const clock = { now: Date.now() };
  const account = await openBotAccount(dir, BOT, "Echo Bot", { now: () => clock.now });
  if (options.aliceVerified) await account.peers.remember(ALICE, alice.fingerprint, alice.keydataBase64, { verified: true });
  return { account, dir, clock };
}

const FILE = { name: "big.bin", type: "application/octet-stream", data: new Uint8Array(randomBytes(300_000)) };

function split(account: BotAccount, signer: BotIdentity = alice) {
  return splitMail({ from: ALICE, to: BOT, recipientKey: account.identity.publicKey, signer, text: "here is the file", file: FILE });
}

function expectEvent(result: Inbound) {
  expect(result.kind, result.kind === "drop" || result.kind === "held" ? result.reason : "").toBe("event");
  if (result.kind !== "event" || result.event.kind !== "message") throw new Error("not a message event");
  return { message: result.event.message, attachments: result.attachments };
}

describe("pre-/post-message joining", () => {
  it("pre then post: the pre-message is held, the post-message runs the bot once with text + file under the post's Message-ID", async () => {
    const { account } = await bot();
    const { pre, post, postId } = await split(account);

    const first = await receiveMail(account, pre, LIMITS);
    expect(first).toEqual({ kind: "held", reason: expect.stringMatching(/^pre-message .*waiting for its post-message/) });
    expect(await account.pending.list()).toMatchObject([{ half: "pre", postId, sender: ALICE, signer: alice.fingerprint }]);

    const { message, attachments } = expectEvent(await receiveMail(account, post, LIMITS));
    expect(message.text).toBe("here is the file");
    expect(message.id).toBe(postId);
    expect(message.chat).toEqual({ id: ALICE, type: "single", name: "Alice" });
    expect(message.attachments).toEqual([{ name: "big.bin", type: "application/octet-stream", size: 300_000 }]);
    expect(attachments).toHaveLength(1);
    expect(Buffer.from(attachments[0]!).equals(Buffer.from(FILE.data))).toBe(true);
    expect(await account.pending.list()).toEqual([]);
  });

  it("post then pre: the post-message is held and the pre-message runs the bot once with both", async () => {
    const { account } = await bot();
    const { pre, post, postId } = await split(account);
    expect((await receiveMail(account, post, LIMITS)).kind).toBe("held");
    const { message, attachments } = expectEvent(await receiveMail(account, pre, LIMITS));
    expect(message.text).toBe("here is the file");
    expect(message.id).toBe(postId);
    expect(attachments[0]?.byteLength).toBe(300_000);
    expect(await account.pending.list()).toEqual([]);
  });

  it("a duplicate post-message or pre-message is dropped, before and after the join", async () => {
    const { account } = await bot();
    const { pre, post, preId, postId } = await split(account);
    expect((await receiveMail(account, post, LIMITS)).kind).toBe("held");
    expect(await receiveMail(account, post, LIMITS)).toEqual({ kind: "drop", reason: `duplicate Message-ID ${postId}` });
    expectEvent(await receiveMail(account, pre, LIMITS));
    expect(await receiveMail(account, post, LIMITS)).toEqual({ kind: "drop", reason: `duplicate Message-ID ${postId}` });
    expect(await receiveMail(account, pre, LIMITS)).toEqual({ kind: "drop", reason: `duplicate Message-ID ${preId}` });
  });

  it("a forged post-message (same post id, signed by another key) is dropped and the real one still joins", async () => {
    const { account } = await bot({ aliceVerified: true });
    const { pre, post, postId } = await split(account);
    const forged = await userMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: mallory,
      messageId: postId,
      body: { kind: "file", text: "", file: { ...FILE, data: new Uint8Array(200_000) } },
      headers: [["Chat-Is-Post-Message", "1"]],
    });
    expect((await receiveMail(account, pre, LIMITS)).kind).toBe("held");
    const dropped = await receiveMail(account, forged.raw, LIMITS);
    expect(dropped.kind).toBe("drop");
    expect(dropped.kind === "drop" && dropped.reason).toMatch(/signature by [0-9A-F]{40}, not by alice@chat.test's verified key/);
    const { attachments } = expectEvent(await receiveMail(account, post, LIMITS));
    expect(Buffer.from(attachments[0]!).equals(Buffer.from(FILE.data))).toBe(true);
  });

  it("with an unverified (Autocrypt) key, a post-message signed by another key than its pre-message is dropped and the real one still joins", async () => {
    const { account } = await bot();
    const { pre, post, postId } = await split(account);
    const forged = await userMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: mallory,
      messageId: postId,
      body: { kind: "file", text: "", file: FILE },
      headers: [["Chat-Is-Post-Message", "1"]],
    });
    expect((await receiveMail(account, pre, LIMITS)).kind).toBe("held");
    expect(await receiveMail(account, forged.raw, LIMITS)).toEqual({
      kind: "drop",
      reason: `post-message of ${postId} is signed by ${mallory.fingerprint}, its pre-message by ${alice.fingerprint}`,
    });
    expect(expectEvent(await receiveMail(account, post, LIMITS)).message.text).toBe("here is the file");
  });

  it("with an unverified key, a forged pre-message naming a held post-message is dropped without consuming it", async () => {
    const { account } = await bot();
    const { pre, post, postId } = await split(account);
    const forged = await userMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: mallory,
      body: { kind: "text", text: "forged text" },
      headers: [["Chat-Post-Message-ID", postId]],
    });
    expect((await receiveMail(account, post, LIMITS)).kind).toBe("held");
    expect(await receiveMail(account, forged.raw, LIMITS)).toEqual({
      kind: "drop",
      reason: `pre-message of ${postId} is signed by ${mallory.fingerprint}, its post-message by ${alice.fingerprint}`,
    });
    expect(expectEvent(await receiveMail(account, pre, LIMITS)).message.text).toBe("here is the file");
  });

  it("a post-message from another sender never completes someone else's pre-message", async () => {
    const { account } = await bot();
    const { pre, postId } = await split(account);
    const bob = await newIdentity("bob@chat.test");
    const foreign = await userMail({
      from: "bob@chat.test",
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: bob,
      messageId: postId,
      body: { kind: "file", text: "", file: FILE },
      headers: [["Chat-Is-Post-Message", "1"]],
    });
    expect((await receiveMail(account, pre, LIMITS)).kind).toBe("held");
    expect((await receiveMail(account, foreign.raw, LIMITS)).kind).toBe("held");
    expect((await account.pending.list()).map((e) => [e.sender, e.half])).toEqual([
      [ALICE, "pre"],
      ["bob@chat.test", "post"],
    ]);
  });

  it("an ordinary message with an attachment (not split) runs at once", async () => {
    const { account } = await bot();
    const small = await userMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: alice,
      body: { kind: "file", text: "small", file: { name: "a.txt", type: "text/plain", data: new TextEncoder().encode("hi") } },
    });
    const { message } = expectEvent(await receiveMail(account, small.raw, LIMITS));
    expect(message).toMatchObject({ id: small.messageId, text: "small", attachments: [{ name: "a.txt", size: 2 }] });
  });

  it("a mail that is both a pre- and a post-message is dropped", async () => {
    const { account } = await bot();
    const both = await userMail({
      from: ALICE,
      to: BOT,
      recipientKey: account.identity.publicKey,
      signer: alice,
      body: { kind: "text", text: "x" },
      headers: [
        ["Chat-Is-Post-Message", "1"],
        ["Chat-Post-Message-ID", "<other@chat.test>"],
      ],
    });
    expect(await receiveMail(account, both.raw, LIMITS)).toEqual({ kind: "drop", reason: "both a pre-message and a post-message" });
  });

  it("a held half older than PENDING_MAX_AGE_MS is forgotten (a pre-message whose post never came does not run)", async () => {
    const { account, clock } = await bot();
    const { pre, post } = await split(account);
    expect((await receiveMail(account, pre, LIMITS)).kind).toBe("held");
    clock.now += PENDING_MAX_AGE_MS + 1;
    expect(await account.pending.list()).toEqual([]);
    // The late post-message now waits for a pre-message that was already consumed: it is held, never run.
    expect((await receiveMail(account, post, LIMITS)).kind).toBe("held");
  });
});

describe("pending store", () => {
  it("holds the raw (encrypted) mail in files only the host user can read, and gives it back once", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pending-")), "pending");
    const store = new PendingStore(dir, { now: () => 1000 });
    const raw = new TextEncoder().encode("encrypted mail");
    expect(await store.hold({ postId: "<p@x>", half: "pre", sender: "a@x", signer: "F".repeat(40) }, raw)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(await store.take("b@x", "<p@x>", "pre")).toBeUndefined();
    expect(await store.take("a@x", "<p@x>", "post")).toBeUndefined();
    const taken = await store.take("a@x", "<p@x>", "pre");
    expect(new TextDecoder().decode(taken!.raw)).toBe("encrypted mail");
    expect(await store.take("a@x", "<p@x>", "pre")).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["index.json"]);
  });

  it("is bounded: beyond PENDING_MAX_ENTRIES the oldest halves (and their files) are forgotten", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pending-")), "pending");
    let now = 0;
    const store = new PendingStore(dir, { now: () => ++now });
    for (let i = 0; i < PENDING_MAX_ENTRIES + 5; i++)
      await store.hold({ postId: `<${i}@x>`, half: "post", sender: "a@x", signer: "F".repeat(40) }, new Uint8Array([i]));
    const held = await store.list();
    expect(held).toHaveLength(PENDING_MAX_ENTRIES);
    expect(held[0]?.postId).toBe("<5@x>");
    expect(readdirSync(dir)).toHaveLength(PENDING_MAX_ENTRIES + 1);
  });

  const half = (i: number) => ({ postId: `<${i}@x>`, half: "post" as const, sender: "a@x", signer: "F".repeat(40) });
  const pendingDir = () => join(mkdtempSync(join(tmpdir(), "pending-")), "pending");

  it("PENDING_MAX_ENTRIES: exactly that many halves are all held; one more forgets the oldest", async () => {
    let now = 0;
    const store = new PendingStore(pendingDir(), { now: () => ++now });
    for (let i = 0; i < PENDING_MAX_ENTRIES; i++) await store.hold(half(i), new Uint8Array([i]));
    expect((await store.list()).map((e) => e.postId)).toEqual(Array.from({ length: PENDING_MAX_ENTRIES }, (_, i) => `<${i}@x>`));
    await store.hold(half(PENDING_MAX_ENTRIES), new Uint8Array([0]));
    const held = (await store.list()).map((e) => e.postId);
    expect(held).toHaveLength(PENDING_MAX_ENTRIES);
    expect([held[0], held.at(-1)]).toEqual(["<1@x>", `<${PENDING_MAX_ENTRIES}@x>`]);
  });

  it("PENDING_MAX_BYTES: one half of exactly that size is held; one byte more is not held at all", async () => {
    const store = new PendingStore(pendingDir(), { now: () => 1 });
    expect(await store.hold(half(0), new Uint8Array(PENDING_MAX_BYTES))).toBe(true);
    expect(await store.hold(half(1), new Uint8Array(PENDING_MAX_BYTES + 1))).toBe(false);
    expect((await store.list()).map((e) => [e.postId, e.bytes])).toEqual([["<0@x>", PENDING_MAX_BYTES]]);
  });

  it("PENDING_MAX_BYTES: halves of exactly that size together are all held; one byte more forgets the oldest", async () => {
    let now = 0;
    const store = new PendingStore(pendingDir(), { now: () => ++now });
    await store.hold(half(0), new Uint8Array(PENDING_MAX_BYTES - 1));
    await store.hold(half(1), new Uint8Array(1));
    expect((await store.list()).map((e) => e.postId)).toEqual(["<0@x>", "<1@x>"]);
    await store.hold(half(2), new Uint8Array(1));
    expect((await store.list()).map((e) => e.postId)).toEqual(["<1@x>", "<2@x>"]);
  });

  it("PENDING_MAX_AGE_MS: a half exactly that old is still held; one ms older it is forgotten", async () => {
    const clock = { now: 1_000_000 };
    const store = new PendingStore(pendingDir(), { now: () => clock.now });
    await store.hold(half(0), new Uint8Array([1]));
    clock.now += PENDING_MAX_AGE_MS;
    expect((await store.find("a@x", "<0@x>", "post"))?.heldAt).toBe(1_000_000);
    clock.now += 1;
    expect(await store.find("a@x", "<0@x>", "post")).toBeUndefined();
  });
});
