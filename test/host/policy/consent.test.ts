import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALREADY_STARTED_TEXT, ALREADY_STOPPED_TEXT, Consent, START_TEXT, STOP_TEXT, consentCommand, consentReply } from "../../../host/policy/consent.js";
import { DAY, FakeClock, T0 } from "../../support/fake-clock.js";

const consentFile = () => join(mkdtempSync(join(tmpdir(), "consent-")), "consent.json");
const GROUP = "group:AbCdEfGhIjKlMnOp";

describe("consent", () => {
  it("a stranger cannot be written to; after they write, they can; after /stop not; after /start again", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    expect(await consent.mayWrite("alice@x.org")).toBe(false);
    await consent.noteIncoming("alice@x.org", "alice@x.org");
    expect(await consent.mayWrite("alice@x.org")).toBe(true);
    expect(await consent.stop("alice@x.org")).toBe(true);
    expect(await consent.mayWrite("alice@x.org")).toBe(false);
    // Writing again (anything but /start) does not undo /stop.
    await consent.noteIncoming("alice@x.org", "alice@x.org");
    expect(await consent.mayWrite("alice@x.org")).toBe(false);
    expect(await consent.start("alice@x.org")).toBe(true);
    expect(await consent.mayWrite("alice@x.org")).toBe(true);
  });

  it("stop and start say whether they changed anything", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    await consent.noteIncoming("a@x.org", "a@x.org");
    expect(await consent.start("a@x.org")).toBe(false);
    expect(await consent.stop("a@x.org")).toBe(true);
    expect(await consent.stop("a@x.org")).toBe(false);
    expect(await consent.start("a@x.org")).toBe(true);
  });

  it("addresses compare case-insensitively", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    await consent.noteIncoming("Alice@X.org", "Alice@X.org");
    expect(await consent.mayWrite("alice@x.org")).toBe(true);
    await consent.stop("ALICE@x.org");
    expect(await consent.mayWrite("Alice@X.org")).toBe(false);
  });

  it("a group may be written to once a message came from it; its members are not thereby 1:1 contacts", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    expect(await consent.mayWrite(GROUP)).toBe(false);
    await consent.noteIncoming(GROUP, "bob@x.org");
    expect(await consent.mayWrite(GROUP)).toBe(true);
    expect(await consent.mayWrite("group:OtherGroupId123")).toBe(false);
    expect(await consent.mayWrite("bob@x.org")).toBe(false);
    expect(await consent.mayAddToGroup("bob@x.org")).toBe(false);
  });

  it("a member who sent /stop is marked stopped, so group mail can leave them out", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    await consent.noteIncoming(GROUP, "bob@x.org");
    await consent.stop("bob@x.org");
    expect(await consent.isStopped("bob@x.org")).toBe(true);
    expect(await consent.isStopped("carol@x.org")).toBe(false);
    expect(await consent.mayWrite(GROUP)).toBe(true); // the group as such still wrote to the bot
  });

  it("only a contact who wrote first and has not sent /stop may be added to a group", async () => {
    const consent = new Consent(consentFile(), new FakeClock(T0));
    expect(await consent.mayAddToGroup("stranger@x.org")).toBe(false);
    await consent.noteIncoming("alice@x.org", "alice@x.org");
    expect(await consent.mayAddToGroup("alice@x.org")).toBe(true);
    await consent.stop("alice@x.org");
    expect(await consent.mayAddToGroup("alice@x.org")).toBe(false);
    // /stop from someone who never wrote does not make them a contact.
    await consent.stop("never@x.org");
    await consent.start("never@x.org");
    expect(await consent.mayAddToGroup("never@x.org")).toBe(false);
  });

  it("consent survives a restart, in a file only the host user can read", async () => {
    const file = consentFile();
    const clock = new FakeClock(T0);
    const first = new Consent(file, clock);
    await first.noteIncoming("alice@x.org", "alice@x.org");
    await first.noteIncoming("bob@x.org", "bob@x.org");
    await first.stop("bob@x.org");
    await first.noteIncoming(GROUP, "carol@x.org");
    const second = new Consent(file, clock);
    expect(await second.mayWrite("alice@x.org")).toBe(true);
    expect(await second.mayWrite("bob@x.org")).toBe(false);
    expect(await second.mayWrite(GROUP)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("the file is bounded: beyond the cap the longest silent are forgotten, which never undoes a /stop", async () => {
    const file = consentFile();
    const clock = new FakeClock(T0);
    const consent = new Consent(file, clock, { maxContacts: 2, maxGroups: 1 });
    await consent.noteIncoming("old@x.org", "old@x.org");
    clock.advance(1000);
    await consent.noteIncoming("stopped@x.org", "stopped@x.org");
    await consent.stop("stopped@x.org");
    clock.advance(1000);
    await consent.noteIncoming("new@x.org", "new@x.org");
    await consent.noteIncoming("group:FirstGroupId12", "a@x.org");
    clock.advance(1000);
    await consent.noteIncoming("group:SecondGroupId1", "a@x.org");
    const data = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(data.contacts).sort()).toEqual(["new@x.org", "stopped@x.org"]);
    expect(Object.keys(data.groups)).toEqual(["group:SecondGroupId1"]);
    expect(await consent.mayWrite("old@x.org")).toBe(false); // forgotten = a stranger again
    clock.advance(1000);
    await consent.noteIncoming("newer@x.org", "newer@x.org"); // now the stopped contact is the longest silent
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).contacts).sort()).toEqual(["new@x.org", "newer@x.org"]);
    expect(await consent.mayWrite("stopped@x.org")).toBe(false);
  });

  it("a contact writing all day costs one file write a day, not one per message", async () => {
    const file = consentFile();
    const clock = new FakeClock(T0);
    const consent = new Consent(file, clock);
    await consent.noteIncoming("a@x.org", "a@x.org");
    const before = statSync(file).mtimeMs;
    const inode = statSync(file).ino;
    clock.advance(DAY - 1);
    await consent.noteIncoming("a@x.org", "a@x.org");
    expect(statSync(file).ino).toBe(inode); // the atomic write renames a new file over it; same inode = untouched
    expect(statSync(file).mtimeMs).toBe(before);
    clock.advance(1);
    await consent.noteIncoming("a@x.org", "a@x.org");
    expect(statSync(file).ino).not.toBe(inode);
  });
});

describe("consent commands", () => {
  it("parses /stop and /start in any case with surrounding space, and nothing that merely starts with them", () => {
    expect(consentCommand("/stop")).toBe("stop");
    expect(consentCommand("/STOP ")).toBe("stop");
    expect(consentCommand("  /Stop\n")).toBe("stop");
    expect(consentCommand("/start")).toBe("start");
    expect(consentCommand("/START")).toBe("start");
    expect(consentCommand("/stopwatch")).toBeUndefined();
    expect(consentCommand("/starts")).toBeUndefined();
    expect(consentCommand("/stop now")).toBeUndefined();
    expect(consentCommand("please /stop")).toBeUndefined();
    expect(consentCommand("stop")).toBeUndefined();
    expect(consentCommand("")).toBeUndefined();
  });

  it("answers with the fixed confirmation texts", () => {
    expect(consentReply("stop", true)).toBe("You will get no more messages from this bot. Send /start to undo.");
    expect(consentReply("stop", true)).toBe(STOP_TEXT);
    expect(consentReply("stop", false)).toBe(ALREADY_STOPPED_TEXT);
    expect(consentReply("start", true)).toBe(START_TEXT);
    expect(consentReply("start", false)).toBe(ALREADY_STARTED_TEXT);
  });
});
