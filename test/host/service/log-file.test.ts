import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { followLog, readLogTail } from "../../../host/service/log-file.js";

function logFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "log-file-")), "host.jsonl");
  writeFileSync(file, text);
  return file;
}

describe("host log file", () => {
  it("log tail: a file of exactly the bound is read whole; one byte more leaves the cut first line out", async () => {
    const text = "first\nsecond\nthird\n";
    const exact = await readLogTail(logFile(text), text.length);
    expect(exact).toEqual({ lines: ["first", "second", "third"], from: 0, end: text.length });
    const over = await readLogTail(logFile(`x${text}`), text.length);
    expect(over).toEqual({ lines: ["second", "third"], from: 7, end: text.length + 1 });
  });

  it("log tail: a bound that starts right after a newline keeps the line that follows it", async () => {
    const tail = await readLogTail(logFile("first\nsecond\n"), "second\n".length);
    expect(tail.lines).toEqual(["second"]);
  });

  it("log tail: a line still being written (no newline yet) is left for later; a missing file is empty", async () => {
    const tail = await readLogTail(logFile('{"a":1}\n{"b":'), 1000);
    expect(tail).toEqual({ lines: ['{"a":1}'], from: 0, end: 8 });
    expect(await readLogTail(join(tmpdir(), "no-such-dir-xyz", "host.jsonl"), 1000)).toEqual({ lines: [], from: 0, end: 0 });
  });

  it("follow: complete lines appended after the offset are delivered once, and abort ends it", async () => {
    const file = logFile("old\n");
    const stop = new AbortController();
    const seen: string[] = [];
    let wake: () => void = () => {};
    const following = followLog(
      file,
      4,
      (lines) => {
        seen.push(...lines);
        if (seen.length >= 2) wake();
      },
      { signal: stop.signal, pollMs: 5 },
    );
    const both = new Promise<void>((resolve) => (wake = resolve));
    appendFileSync(file, "new 1\nnew");
    appendFileSync(file, " 2\n");
    await both;
    stop.abort();
    await following;
    expect(seen).toEqual(["new 1", "new 2"]);
  });

  it("follow: a log that was truncated (rotated with copytruncate) is read again from its start", async () => {
    const file = logFile("a long line before rotation\n");
    const stop = new AbortController();
    const seen: string[] = [];
    let wake: () => void = () => {};
    const got = new Promise<void>((resolve) => (wake = resolve));
    const following = followLog(
      file,
      28,
      (lines) => {
        seen.push(...lines);
        wake();
      },
      { signal: stop.signal, pollMs: 5 },
    );
    writeFileSync(file, "after\n");
    await got;
    stop.abort();
    await following;
    expect(seen).toEqual(["after"]);
  });
});
