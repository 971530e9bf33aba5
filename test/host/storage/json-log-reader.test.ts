// A JsonLog read by another object while its writer appends and folds the log into snapshots (the
// state mirror reading a bot's state while the pipeline saves it, bot-state-file.ts). What must
// hold: a read is a snapshot and the lines after it — never an old snapshot paired with the
// emptied log of the new one, which would take the reader back to a state older than one it
// already saw. The writer's values only grow, so a reader's must never shrink.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JsonLog } from "../../../host/storage/json-log.js";

type Value = { n: number };

describe("json log: a reader beside the writer", () => {
  it("never reads a state older than one it read before, while the writer folds the log every 3 lines", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "json-log-reader-")), "store.json");
    const writer = new JsonLog<Value, Value>(file, { compactEvery: 3 });
    await writer.snapshot({ n: 0 });
    let written = 0;
    let done = false;
    const write = async () => {
      let snapshotExists = true;
      for (let n = 1; n <= 300; n++) {
        if (writer.wantsSnapshot(snapshotExists)) await writer.snapshot({ n });
        else await writer.append({ n });
        snapshotExists = true;
        written = n;
      }
      done = true;
    };
    /** One reader's values, in the order it read them. */
    const read = async (): Promise<number[]> => {
      const reader = new JsonLog<Value, Value>(file);
      const seen: number[] = [];
      while (!done) {
        // A read may give up on a snapshot replaced again and again (here every 3 lines, not 500): then it says so.
        const got = await reader.read().catch((error: Error) => {
          expect(error.message).toMatch(/was replaced 10 times while it was read/);
          return undefined;
        });
        if (got) seen.push(got.lines.at(-1)?.n ?? got.snapshot?.n ?? -1);
      }
      return seen;
    };
    const [, ...readers] = await Promise.all([write(), read(), read()]);
    expect(written).toBe(300);
    for (const seen of readers) {
      expect(seen.length).toBeGreaterThan(20);
      expect(seen.filter((n, i) => i > 0 && n < seen[i - 1]!)).toEqual([]);
    }
  });
});
