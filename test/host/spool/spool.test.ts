import { mkdtempSync, readFileSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newEntryId } from "../../../host/spool/entry.js";
import { Spool } from "../../../host/spool/spool.js";
import { errorCode } from "../../support/errors.js";
import { FILE_IO_WAYS, withFileIoWay } from "../../support/file-io-ways.js";

/** A clock the test moves by hand (starts at the real time: recover compares it with file mtimes). */
function fakeClock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function freshSpool() {
  const root = join(mkdtempSync(join(tmpdir(), "spool-")), "spool");
  const clock = fakeClock();
  return { root, clock, spool: new Spool(root, clock) };
}

const MAIL = new TextEncoder().encode("Subject: hi\r\n\r\nhello\r\n");
/** A pid no process can have: above the kernel's pid_max. */
const DEAD_PID = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

// Both ways of making the stores' file calls (spool/file-io.ts): the door's (libuv's pool) and the pipeline process's (blocking).
describe.each(FILE_IO_WAYS)("spool, file calls through %s", (_way, blocking) => {
  withFileIoWay(blocking);

  it("spool: write → ready → read → complete round-trips the mail byte for byte and leaves nothing", async () => {
    const { spool, root } = freshSpool();
    const entry = await spool.write("Bot@Example.org", MAIL, 1000);
    expect(entry).toMatchObject({ recipient: "bot@example.org", attempts: 0 });
    expect(entry.id).toMatch(new RegExp(`^\\d+-${process.pid}-[0-9a-f]{12}$`));
    expect(await spool.ready()).toEqual([entry]);
    expect(Buffer.from(await spool.read(entry)).equals(Buffer.from(MAIL))).toBe(true);
    await spool.complete(entry);
    expect(await spool.ready()).toEqual([]);
    expect(await readdir(join(root, "new"))).toEqual([]);
    expect(await readdir(join(root, "tmp"))).toEqual([]);
  });

  it("spool: a stream is stored as it came, and ready() lists entries oldest first, only once their time has come; due() says when the first waiting one comes", async () => {
    const { spool, clock } = freshSpool();
    const a = await spool.write("a@x.org", chunks("Subject: a\n", "\n", "body a\n"), 1000);
    clock.advance(10);
    const b = await spool.write("b@x.org", MAIL, 1000);
    expect(new TextDecoder().decode(await spool.read(a))).toBe("Subject: a\n\nbody a\n");
    expect((await spool.ready()).map((e) => e.id)).toEqual([a.id, b.id]);

    expect((await spool.due()).nextAt).toBe(Number.POSITIVE_INFINITY);
    const later = await spool.update(a, { attempts: 1, nextAttemptAt: clock.now() + 1000, lastError: "smtp 451", journal: { submitted: 2 } });
    expect((await spool.ready()).map((e) => e.id)).toEqual([b.id]);
    expect(await spool.due()).toEqual({ ready: [b], nextAt: later.nextAttemptAt });
    expect(await spool.all()).toEqual([later, b]);
    clock.advance(1000);
    expect(await spool.ready()).toEqual([later, b]);
    expect(later).toMatchObject({ id: a.id, recipient: "a@x.org", receivedAt: a.receivedAt, journal: { submitted: 2 } });
  });

  it("spool: files are 0600 and folders 0700 (only the host user reads mail)", async () => {
    const { spool, root } = freshSpool();
    const entry = await spool.write("bot@x.org", MAIL, 1000);
    for (const dir of ["tmp", "new", "dead"]) expect((await stat(join(root, dir))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, "new", entry.id))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, "new", `${entry.id}.json`))).mode & 0o777).toBe(0o600);
    await spool.update(entry, { attempts: 1 });
    expect((await stat(join(root, "new", `${entry.id}.json`))).mode & 0o777).toBe(0o600);
  });

  it("spool: a mail exactly at maxBytes is stored (as bytes and as a stream)", async () => {
    const { spool } = freshSpool();
    expect((await spool.write("bot@x.org", MAIL, MAIL.byteLength)).id).toBeTruthy();
    expect((await spool.write("bot@x.org", chunks("Subject: x\n", "\n", "12345"), 17)).id).toBeTruthy();
    expect(await spool.all()).toHaveLength(2);
  });

  it("spool: a mail one byte over maxBytes is refused with E_MAIL_TOO_LARGE and nothing is stored", async () => {
    const { spool, root } = freshSpool();
    expect(await errorCode(spool.write("bot@x.org", MAIL, MAIL.byteLength - 1))).toBe("E_MAIL_TOO_LARGE");
    expect(await errorCode(spool.write("bot@x.org", chunks("Subject: x\n", "\n", "123456"), 17))).toBe("E_MAIL_TOO_LARGE");
    expect(await spool.all()).toEqual([]);
    expect(await readdir(join(root, "tmp"))).toEqual([]);
    expect(await readdir(join(root, "new"))).toEqual([]);
  });

  it("spool: a source that fails half-way (the client went away) leaves no entry and no temp file", async () => {
    const { spool, root } = freshSpool();
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode("Subject: x\n");
      throw new Error("connection reset");
    }
    await expect(spool.write("bot@x.org", broken(), 1000)).rejects.toThrow("connection reset");
    expect(await readdir(join(root, "tmp"))).toEqual([]);
    expect(await readdir(join(root, "new"))).toEqual([]);
  });

  it("spool: a crash while writing (a tmp leftover of a dead writer) is not an entry, and recover() removes it", async () => {
    const { spool, root } = freshSpool();
    const kept = await spool.write("bot@x.org", MAIL, 1000);
    const deadId = newEntryId(Date.now(), DEAD_PID);
    await writeFile(join(root, "tmp", deadId), "Subject: half"); // the crash came before the fsync
    await writeFile(join(root, "tmp", `${deadId}.json`), '{"recipient":"bot@x.org"');
    const liveId = newEntryId(Date.now()); // this process: a writer still at work
    await writeFile(join(root, "tmp", liveId), "Subject: in progress");
    expect(await spool.all()).toEqual([kept]);

    const removed = await spool.recover();
    expect(removed.sort()).toEqual([join(root, "tmp", deadId), join(root, "tmp", `${deadId}.json`)].sort());
    expect(await readdir(join(root, "tmp"))).toEqual([liveId]);
    expect(await spool.all()).toEqual([kept]);
  });

  it("spool: a crash between the two renames (a mail without its meta in new/) is not an entry and is removed", async () => {
    const { spool, root } = freshSpool();
    const lone = newEntryId(Date.now(), DEAD_PID);
    await spool.recover(); // creates the folders
    await writeFile(join(root, "new", lone), MAIL);
    const loneMeta = newEntryId(Date.now(), DEAD_PID);
    await writeFile(join(root, "new", `${loneMeta}.json`), '{"recipient":"bot@x.org","receivedAt":1,"attempts":0,"nextAttemptAt":1}');
    expect(await spool.all()).toEqual([]);
    expect((await spool.recover()).sort()).toEqual([join(root, "new", lone), join(root, "new", `${loneMeta}.json`)].sort());
    expect(await readdir(join(root, "new"))).toEqual([]);
  });

  it("spool: an interrupted meta update (a partial temp meta) leaves the entry readable with its previous meta", async () => {
    const { spool, root, clock } = freshSpool();
    const entry = await spool.update(await spool.write("bot@x.org", MAIL, 1000), { attempts: 1, journal: { step: 1 } });
    // update() writes a temp meta and renames it over the old one; the crash came mid-write.
    await writeFile(join(root, "tmp", `${newEntryId(clock.now(), DEAD_PID)}.meta`), '{"recipient":"bot@x.org","attem');
    expect(await spool.ready()).toEqual([entry]);
    expect(Buffer.from(await spool.read(entry)).equals(Buffer.from(MAIL))).toBe(true);
    expect(await spool.recover()).toHaveLength(1);
    expect(await readdir(join(root, "tmp"))).toEqual([]);
    expect(await spool.ready()).toEqual([entry]);
  });

  it("spool: leftovers older than staleMs go even when a process with the writer's pid exists (pid reuse)", async () => {
    const { spool, root, clock } = freshSpool();
    await spool.recover();
    const id = newEntryId(clock.now());
    await writeFile(join(root, "tmp", id), "old");
    expect(await spool.recover(60_000)).toEqual([]);
    clock.advance(61_000); // the file was written a few real ms after the fake clock started
    expect(await spool.recover(60_000)).toEqual([join(root, "tmp", id)]);
  });

  it("spool: deadLetter moves the entry to dead/ with its reason, keeps the mail, and it is no longer ready", async () => {
    const { spool, root } = freshSpool();
    const entry = await spool.update(await spool.write("bot@x.org", MAIL, 1000), { attempts: 5, lastError: "runner crashed" });
    await spool.deadLetter(entry, "gave up after 5 attempts: runner crashed");
    expect(await spool.ready()).toEqual([]);
    expect(await spool.deadLetters()).toEqual([{ ...entry, reason: "gave up after 5 attempts: runner crashed" }]);
    expect(readFileSync(join(root, "dead", entry.id)).equals(Buffer.from(MAIL))).toBe(true);
    expect((await stat(join(root, "dead", entry.id))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(root, "new"))).toEqual([]);
  });

  it("spool: a stream of an entry copies it into a second entry for another recipient", async () => {
    const { spool } = freshSpool();
    const first = await spool.write("a@x.org", MAIL, 1000);
    const second = await spool.write("b@x.org", spool.stream(first), 1000);
    expect(Buffer.from(await spool.read(second)).equals(Buffer.from(MAIL))).toBe(true);
    expect((await spool.all()).map((e) => e.recipient).sort()).toEqual(["a@x.org", "b@x.org"]);
  });
});
