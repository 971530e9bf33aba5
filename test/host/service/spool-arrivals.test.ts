// The door pokes the pipeline for entries that arrive in spool/new, not for the pipeline's own
// writes there (host/service/spool-arrivals.ts): checked with a real Spool and a real fs.watch.
import { mkdtempSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newEntryId } from "../../../host/spool/entry.js";
import { Spool } from "../../../host/spool/spool.js";
import { SpoolArrivals } from "../../../host/service/spool-arrivals.js";

const MAIL = new TextEncoder().encode("Subject: hi\r\n\r\nhello\r\n");

function freshSpool(): Spool {
  return new Spool(join(mkdtempSync(join(tmpdir(), "arrivals-")), "spool"), { now: Date.now });
}

/** Let inotify's events reach the watch callback (they come on later turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("spool arrivals", () => {
  it("a real watch of spool/new: one piece of news per arrived entry; its journal rewrite, completion and dead-lettering are none", async () => {
    const spool = freshSpool();
    await spool.write("bot@example.org", MAIL, 1 << 20); // makes the folders
    await spool.complete((await spool.ready())[0]!);
    const arrivals = new SpoolArrivals(spool.dirs.new);
    const news: string[] = [];
    const watcher = watch(spool.dirs.new, (_event, name) => {
      if (arrivals.changed(name)) news.push(String(name));
    });
    try {
      const first = await spool.write("bot@example.org", MAIL, 1 << 20);
      const second = await spool.write("bot@example.org", MAIL, 1 << 20);
      await settle();
      expect(news.sort()).toEqual([`${first.id}.json`, `${second.id}.json`].sort());
      news.length = 0;
      // What the pipeline does with them: journal, defer, complete, dead-letter.
      const journaled = await spool.update(first, { attempts: 1 });
      await spool.update(journaled, { nextAttemptAt: Date.now() + 60_000 });
      await spool.complete(journaled);
      await spool.deadLetter(second, "test");
      await settle();
      expect(news).toEqual([]);
      // A third arrival after all that is news again.
      const third = await spool.write("bot@example.org", MAIL, 1 << 20);
      await settle();
      expect(news).toEqual([`${third.id}.json`]);
    } finally {
      watcher.close();
    }
  });

  it("the LMTP door's own arrival and the watch's sighting of it are one piece of news, in either order", () => {
    const dir = mkdtempSync(join(tmpdir(), "arrivals-"));
    const arrivals = new SpoolArrivals(dir);
    const [a, b] = [newEntryId(Date.now()), newEntryId(Date.now())];
    writeFileSync(join(dir, `${a}.json`), "{}");
    writeFileSync(join(dir, `${b}.json`), "{}");
    expect(arrivals.arrived(a)).toBe(true); // onSpooled first
    expect(arrivals.changed(`${a}.json`)).toBe(false);
    expect(arrivals.changed(`${b}.json`)).toBe(true); // the watch first
    expect(arrivals.arrived(b)).toBe(false);
  });

  it("an unnamed change (inotify's queue overflowed) is news; mail files, strangers and gone metas are not", () => {
    const dir = mkdtempSync(join(tmpdir(), "arrivals-"));
    const arrivals = new SpoolArrivals(dir);
    const id = newEntryId(Date.now());
    expect(arrivals.changed(null)).toBe(true);
    writeFileSync(join(dir, id), "mail");
    expect(arrivals.changed(id)).toBe(false);
    writeFileSync(join(dir, "notes.json"), "{}");
    expect(arrivals.changed("notes.json")).toBe(false);
    expect(arrivals.changed(`${id}.json`)).toBe(false); // not there (yet, or any more)
  });

  it("past its bound the set starts over: an entry seen again is news once more (a spare poke, never a missed one)", () => {
    const dir = mkdtempSync(join(tmpdir(), "arrivals-"));
    const arrivals = new SpoolArrivals(dir, 3);
    const ids = [0, 1, 2, 3].map(() => newEntryId(Date.now()));
    for (const id of ids.slice(0, 3)) expect(arrivals.arrived(id)).toBe(true);
    expect(arrivals.arrived(ids[0]!)).toBe(false);
    expect(arrivals.arrived(ids[3]!)).toBe(true); // the fourth: the set started over
    expect(arrivals.arrived(ids[0]!)).toBe(true);
  });
});
