// The one logger of `host serve`: every part writes its typed events through it; each becomes one
// bounded JSON line on stdout and in logs/host.jsonl, and the metrics count the event itself.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { boundLogLine } from "./bound-log-line.js";
import { logLine, type HostLog } from "./host-event.js";
import { openLogAppender } from "./log-appender.js";
import type { HostMetrics } from "./metrics.js";

/** Open `logsDir/host.jsonl` (0700 folder) and return the logger that writes there and to `stdout`. */
export function hostLogger(logsDir: string, stdout: (text: string) => void, metrics: HostMetrics): HostLog {
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  // Open for the life of the process (closed by its exit): late lines (metrics, stop) still land.
  const logFile = openLogAppender(join(logsDir, "host.jsonl"));
  return (event) => {
    const text = `${JSON.stringify({ at: new Date().toISOString(), ...boundLogLine(logLine(event)) })}\n`;
    stdout(text);
    logFile.append(text);
    metrics.observe(event);
  };
}
