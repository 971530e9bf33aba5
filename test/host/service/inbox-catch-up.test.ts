// INBOX catch-up: mail that reached a just-routed bot's mailbox before Postfix read the new routes
// is spooled (then deleted) once, and only what arrived since the change.
import { afterEach, describe, expect, it, vi } from "vitest";
import { INBOX_CATCH_UP_DELAYS_MS, INBOX_CATCH_UP_MAX, MAIL_MAX_BYTES } from "../../../core/limits.js";
import type { FolderMailbox } from "../../../host/deploy/imap-mailbox.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { InboxCatchUp } from "../../../host/service/inbox-catch-up.js";
import { T0 } from "../../support/fake-clock.js";

const BOT = "bot@chat.test";

interface Stored {
  uid: number;
  size?: number;
  receivedAt?: number;
}

/** An INBOX in memory; every call (and every spool) is recorded in order in `calls`. */
function setup(messages: Stored[]) {
  const box = new Map(messages.map((m) => [m.uid, m]));
  const calls: string[] = [];
  const events: HostEvent[] = [];
  const opened: string[] = [];
  let inboxOf = async (addr: string): Promise<FolderMailbox | null> => {
    opened.push(addr);
    return mailbox;
  };
  let spool = async (addr: string, raw: Uint8Array): Promise<void> => {
    calls.push(`spool ${addr} ${Buffer.from(raw).toString()}`);
  };
  const mailbox: FolderMailbox = {
    list: async () => {
      calls.push("list");
      return [...box.values()].sort((a, b) => a.uid - b.uid).map((m) => ({ ...m, marker: undefined }));
    },
    append: async () => {
      throw new Error("a catch-up never appends");
    },
    download: async (uid) => {
      calls.push(`download ${uid}`);
      return new TextEncoder().encode(`mail ${uid}`);
    },
    remove: async (uids) => {
      calls.push(`remove ${uids.join(",")}`);
      for (const uid of uids) box.delete(uid);
    },
    close: async () => {
      calls.push("close");
    },
  };
  const catchUp = new InboxCatchUp({
    log: (event) => events.push(event),
    openInbox: (addr) => inboxOf(addr),
    spool: (addr, raw) => spool(addr, raw),
  });
  return {
    catchUp,
    calls,
    events,
    opened,
    left: () => [...box.keys()].sort((a, b) => a - b),
    setOpenInbox: (fn: typeof inboxOf) => {
      inboxOf = fn;
    },
    setSpool: (fn: typeof spool) => {
      spool = fn;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("inbox catch-up", () => {
  it("takes what arrived from the start of since's second on (INTERNALDATE has whole seconds); older mail stays", async () => {
    const since = T0 + 5_400;
    const t = setup([
      { uid: 1, size: 10, receivedAt: T0 + 4_000 }, // a second before: the account's own mail
      // The same second as `since`, stamped earlier than its ms: the server cannot say which came
      // first, so it is taken (a mail the bot runs twice at worst beats one it never sees).
      { uid: 2, size: 10, receivedAt: T0 + 5_000 },
      { uid: 3, size: 10, receivedAt: T0 + 9_000 },
      { uid: 4, size: 10 }, // no INTERNALDATE: not known to be late
    ]);
    expect(await t.catchUp.catchUp(BOT, since)).toBe(2);
    expect(t.left()).toEqual([1, 4]);
    expect(t.events).toEqual([{ event: "inbox.caught-up", bot: BOT, mails: 2 }]);
  });

  it("spools each mail before it deletes it, and closes the session at the end", async () => {
    const t = setup([
      { uid: 7, size: 10, receivedAt: T0 },
      { uid: 9, size: 10, receivedAt: T0 + 1_000 },
    ]);
    await t.catchUp.catchUp(BOT, T0);
    expect(t.opened).toEqual([BOT]);
    expect(t.calls).toEqual(["list", "download 7", `spool ${BOT} mail 7`, "remove 7", "download 9", `spool ${BOT} mail 9`, "remove 9", "close"]);
  });

  it("a mail of exactly MAIL_MAX_BYTES is taken; one byte over is skipped unread and left in the INBOX", async () => {
    const t = setup([
      { uid: 1, size: MAIL_MAX_BYTES + 1, receivedAt: T0 },
      { uid: 2, size: MAIL_MAX_BYTES, receivedAt: T0 },
    ]);
    expect(await t.catchUp.catchUp(BOT, T0)).toBe(1);
    expect(t.calls).not.toContain("download 1");
    expect(t.left()).toEqual([1]);
    expect(t.events).toContainEqual({ event: "inbox.catch-up-skipped", bot: BOT, uid: 1, reason: `${MAIL_MAX_BYTES + 1} bytes, over ${MAIL_MAX_BYTES}` });
  });

  it("takes at most INBOX_CATCH_UP_MAX mails per look; the next look takes the rest", async () => {
    const t = setup(Array.from({ length: INBOX_CATCH_UP_MAX + 1 }, (_, i) => ({ uid: i + 1, size: 10, receivedAt: T0 })));
    expect(await t.catchUp.catchUp(BOT, T0)).toBe(INBOX_CATCH_UP_MAX);
    expect(t.left()).toEqual([INBOX_CATCH_UP_MAX + 1]);
    expect(await t.catchUp.catchUp(BOT, T0)).toBe(1);
    expect(t.left()).toEqual([]);
  });

  it("does nothing when the bot's INBOX is not to be opened (no longer installed, or paused)", async () => {
    const t = setup([{ uid: 1, size: 10, receivedAt: T0 }]);
    t.setOpenInbox(async () => null);
    expect(await t.catchUp.catchUp(BOT, T0)).toBe(0);
    expect(t.calls).toEqual([]);
    expect(t.events).toEqual([]);
  });

  it("closes the session when the spool fails, and deletes nothing it did not spool", async () => {
    const t = setup([{ uid: 1, size: 10, receivedAt: T0 }]);
    t.setSpool(async () => {
      throw new Error("disk full");
    });
    await expect(t.catchUp.catchUp(BOT, T0)).rejects.toThrow("disk full");
    expect(t.calls).toEqual(["list", "download 1", "close"]);
    expect(t.left()).toEqual([1]);
  });
});

describe("inbox catch-up schedule", () => {
  const LAST = INBOX_CATCH_UP_DELAYS_MS[INBOX_CATCH_UP_DELAYS_MS.length - 1]!;

  it("looks at each delay, and every look (an earlier change's too) takes only what came after the latest change", async () => {
    vi.useFakeTimers();
    const t1 = T0;
    const t2 = T0 + 60_000;
    const t = setup([
      { uid: 1, size: 10, receivedAt: t1 + 1_000 }, // while paused, between the two changes
      { uid: 2, size: 10, receivedAt: t2 + 1_000 },
    ]);
    t.catchUp.schedule(BOT, t1);
    t.catchUp.schedule(BOT, t2);
    await vi.advanceTimersByTimeAsync(INBOX_CATCH_UP_DELAYS_MS[0]!);
    // Both changes' first looks ran: the first took uid 2, neither took uid 1.
    expect(t.opened).toEqual([BOT, BOT]);
    expect(t.left()).toEqual([1]);
    await vi.advanceTimersByTimeAsync(LAST);
    expect(t.opened).toHaveLength(2 * INBOX_CATCH_UP_DELAYS_MS.length);
    expect(t.left()).toEqual([1]);
  });

  it("two looks due at once take turns: a mail is spooled once, never by both", async () => {
    vi.useFakeTimers();
    const t = setup([{ uid: 1, size: 10, receivedAt: T0 + 1_000 }]);
    // A slow spool: the first look is still at it when the second one is due.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    t.setSpool(async (addr, raw) => {
      t.calls.push(`spool ${addr} ${Buffer.from(raw).toString()}`);
      await gate;
    });
    t.catchUp.schedule(BOT, T0);
    t.catchUp.schedule(BOT, T0);
    await vi.advanceTimersByTimeAsync(INBOX_CATCH_UP_DELAYS_MS[0]!);
    open();
    await vi.advanceTimersByTimeAsync(10);
    expect(t.calls.filter((c) => c.startsWith("spool"))).toEqual([`spool ${BOT} mail 1`]);
    expect(t.calls).toEqual(["list", "download 1", `spool ${BOT} mail 1`, "remove 1", "close", "list", "close"]);
  });

  it("an earlier change scheduled after a later one does not widen the window", async () => {
    vi.useFakeTimers();
    const t = setup([{ uid: 1, size: 10, receivedAt: T0 + 1_000 }]);
    t.catchUp.schedule(BOT, T0 + 60_000);
    t.catchUp.schedule(BOT, T0);
    await vi.advanceTimersByTimeAsync(LAST);
    expect(t.left()).toEqual([1]);
  });

  it("a look that fails is logged as inbox.catch-up-error; the later looks still run", async () => {
    vi.useFakeTimers();
    const t = setup([]);
    t.setOpenInbox(async (addr) => {
      t.opened.push(addr);
      throw new Error("IMAP is down");
    });
    t.catchUp.schedule(BOT, T0);
    await vi.advanceTimersByTimeAsync(LAST);
    expect(t.opened).toHaveLength(INBOX_CATCH_UP_DELAYS_MS.length);
    expect(t.events[0]).toEqual({ event: "inbox.catch-up-error", bot: BOT, error: expect.stringContaining("IMAP is down") });
  });

  it("stop() forgets the looks not run yet, and later schedules are ignored", async () => {
    vi.useFakeTimers();
    const t = setup([{ uid: 1, size: 10, receivedAt: T0 }]);
    t.catchUp.schedule(BOT, T0);
    t.catchUp.stop();
    t.catchUp.schedule(BOT, T0);
    await vi.advanceTimersByTimeAsync(LAST);
    expect(t.opened).toEqual([]);
    expect(t.left()).toEqual([1]);
  });
});
