// A bot's state on disk is a snapshot and a log of what each event changed (bot-state-file.ts):
// saving an event's state costs what it changed. What must hold: a new reader (another host, the
// state mirror) gets exactly the state the writer holds, keys in the same order; a save without
// its changes (a restore, a resumed plan) replaces everything, a stale log too; the log is folded
// into a snapshot after JSON_LOG_COMPACT_LINES lines or STATE_LOG_COMPACT_CHARS characters; a line
// torn by a crash is skipped.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STATE_LOG_COMPACT_CHARS } from "../../../core/limits.js";
import { applyStateChanges, type StateChanges } from "../../../host/executor/state-snapshot.js";
import { BotStateFile } from "../../../host/service/bot-state-file.js";
import { JSON_LOG_COMPACT_LINES } from "../../../host/storage/json-log.js";

const fileIn = () => {
  const dir = join(mkdtempSync(join(tmpdir(), "bot-state-file-")), "bot");
  mkdirSync(dir);
  return join(dir, "state.json");
};
const logText = (file: string) => (existsSync(`${file}.log`) ? readFileSync(`${file}.log`, "utf8") : "");

/** A state file in a new folder, written once by its writer (a snapshot: the first save). */
async function writerWith(state: Record<string, string>): Promise<{ file: string; writer: BotStateFile }> {
  const file = fileIn();
  const writer = new BotStateFile(file);
  await writer.load();
  await writer.save(state);
  return { file, writer };
}

/** One event's save as the pipeline makes it: the changes applied to the state loaded before. */
async function saveChanges(state: BotStateFile, changes: StateChanges): Promise<Record<string, string>> {
  const next = applyStateChanges(await state.load(), changes);
  await state.save(next, undefined, changes);
  return next;
}

describe("BotStateFile: a snapshot and a log of changes", () => {
  it("the first save writes the snapshot; an event's changes are appended; a new reader gets the same state, keys in the same order", async () => {
    const { file, writer } = await writerWith({ a: "1", z: "2", "5": "3" });
    const snapshot = readFileSync(file, "utf8");
    expect(logText(file)).toBe("");
    const next = await saveChanges(writer, { deleted: ["a"], set: { b: "4", a: "5", "1": "6" } });
    // An own "__proto__" key, as the runner's changes carry it (a literal would set the prototype).
    const after = await saveChanges(writer, { deleted: ["z"], set: Object.fromEntries([["__proto__", "7"]]) });
    expect(readFileSync(file, "utf8")).toBe(snapshot);
    expect(logText(file).split("\n").filter(Boolean)).toHaveLength(2);
    expect(next).toEqual({ "1": "6", "5": "3", z: "2", b: "4", a: "5" });
    const read = await new BotStateFile(file).load();
    expect(read).toEqual(after);
    expect(Object.keys(read)).toEqual(Object.keys(after));
    expect(Object.keys(read)).toEqual(["1", "5", "b", "a", "__proto__"]);
    expect(await writer.load()).toEqual(after);
  });

  it("a save without its changes replaces the snapshot and empties the log, one it never read too", async () => {
    const { file, writer } = await writerWith({ n: "1" });
    await saveChanges(writer, { deleted: [], set: { n: "2" } });
    expect(logText(file)).not.toBe("");
    // A restore by another object (the state mirror's): the log it never read goes too.
    await new BotStateFile(file).save({ restored: "true" });
    expect(logText(file)).toBe("");
    expect(await new BotStateFile(file).load()).toEqual({ restored: "true" });
  });

  it(`after ${JSON_LOG_COMPACT_LINES} lines the next save writes a snapshot`, async () => {
    const { file, writer } = await writerWith({ n: "0" });
    for (let i = 1; i <= JSON_LOG_COMPACT_LINES; i++) await saveChanges(writer, { deleted: [], set: { n: String(i) } });
    expect(logText(file).split("\n").filter(Boolean)).toHaveLength(JSON_LOG_COMPACT_LINES);
    const snapshotAt = statSync(file).mtimeMs;
    await saveChanges(writer, { deleted: [], set: { n: "last" } });
    expect(logText(file)).toBe("");
    expect(statSync(file).mtimeMs).toBeGreaterThanOrEqual(snapshotAt);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ n: "last" });
  });

  it("once the log holds STATE_LOG_COMPACT_CHARS characters the next save writes a snapshot", async () => {
    const { file, writer } = await writerWith({});
    const big = JSON.stringify("x".repeat(STATE_LOG_COMPACT_CHARS / 2));
    await saveChanges(writer, { deleted: [], set: { a: big } });
    await saveChanges(writer, { deleted: [], set: { b: big } });
    expect(logText(file).length).toBeGreaterThanOrEqual(STATE_LOG_COMPACT_CHARS);
    await saveChanges(writer, { deleted: ["a"], set: {} });
    expect(logText(file)).toBe("");
    expect(await new BotStateFile(file).load()).toEqual({ b: big });
  });

  it("a line torn by a crash mid-append is skipped and the next one starts a line of its own; a line of another shape is not applied", async () => {
    const { file, writer } = await writerWith({ n: "1" });
    await saveChanges(writer, { deleted: [], set: { n: "2" } });
    appendFileSync(`${file}.log`, '["not changes"]\n{"deleted":[],"set":{"n":"3"');
    const next = new BotStateFile(file);
    expect(await next.load()).toEqual({ n: "2" });
    // The next change goes on a line of its own, not onto the torn one.
    await saveChanges(next, { deleted: [], set: { n: "4" } });
    expect(await new BotStateFile(file).load()).toEqual({ n: "4" });
  });

  it("with neither a snapshot nor a log there is no state; an empty log and a snapshot of {} are a state", async () => {
    const file = fileIn();
    expect(await new BotStateFile(file).read()).toBeUndefined();
    writeFileSync(file, "{}");
    expect(await new BotStateFile(file).read()).toEqual({});
  });
});
