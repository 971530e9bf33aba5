import { mkdtempSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOG_REOPEN_CHECK_MS, openLogAppender } from "../../../host/service/log-appender.js";

describe("log appender", () => {
  it("log appender: lines go into one 0600 file; after rotation (moved away, or removed) the next check reopens the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "log-appender-"));
    const file = join(dir, "host.jsonl");
    let now = 0;
    const log = openLogAppender(file, { now: () => now });
    log.append("a\n");
    log.append("b\n");
    expect(readFileSync(file, "utf8")).toBe("a\nb\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    renameSync(file, `${file}.1`);
    log.append("c\n"); // before the check: still the open (rotated) file
    now += LOG_REOPEN_CHECK_MS;
    log.append("d\n");
    expect(readFileSync(`${file}.1`, "utf8")).toBe("a\nb\nc\n");
    expect(readFileSync(file, "utf8")).toBe("d\n");
    unlinkSync(file);
    now += LOG_REOPEN_CHECK_MS;
    log.append("e\n");
    expect(readFileSync(file, "utf8")).toBe("e\n");
    log.close();
  });
});
