// Appending lines to logs/host.jsonl without opening the file per line: the file stays open and
// is reopened when it was moved or removed (log rotation), which is looked at no more often than
// every LOG_REOPEN_CHECK_MS. Writes are synchronous and unbuffered, like the appendFileSync they
// replace: a line is in the file (page cache) when `append` returns, and lines never interleave.
import { closeSync, fstatSync, openSync, statSync, writeSync } from "node:fs";
import { systemClock, type Clock } from "../../core/clock.js";

/** How often the appender checks whether its file was rotated away, ms. */
export const LOG_REOPEN_CHECK_MS = 1_000;

/** An open log file; `close()` when done. */
export interface LogAppender {
  append(text: string): void;
  close(): void;
}

/** Open `file` for appending (0600, created when missing); `clock` times the re-open checks. */
export function openLogAppender(file: string, clock: Clock = systemClock): LogAppender {
  let fd = openSync(file, "a", 0o600);
  let checkedAt = clock.now();
  const rotated = (): boolean => {
    try {
      const onDisk = statSync(file);
      const open = fstatSync(fd);
      return onDisk.ino !== open.ino || onDisk.dev !== open.dev;
    } catch {
      return true; // removed
    }
  };
  return {
    append(text) {
      if (clock.now() - checkedAt >= LOG_REOPEN_CHECK_MS) {
        checkedAt = clock.now();
        if (rotated()) {
          closeSync(fd);
          fd = openSync(file, "a", 0o600);
        }
      }
      writeSync(fd, text);
    },
    close() {
      closeSync(fd);
    },
  };
}
