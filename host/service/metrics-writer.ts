// The metrics file of `host serve`: rewritten every METRICS_INTERVAL_MS (10 s) and once more on
// stop, unless the figures are unchanged; a write never overlaps the one before (a slow disk skips
// a beat instead of piling up).
import { errorMessage } from "../../core/errors.js";
import type { HostLog } from "./host-event.js";
import { METRICS_INTERVAL_MS, spoolGauges, writeMetricsFile, type HostMetrics } from "./metrics.js";
import type { Spool } from "../spool/spool.js";

export interface MetricsWriter {
  /** Write the file now (joins a write in progress instead of starting a second). */
  write(): Promise<void>;
  /** Stop the timer, wait for a write in progress, then write the final figures. */
  stop(): Promise<void>;
}

/** Start writing `metrics` (plus the spool's gauges) to `file`; a failed write is logged, never thrown. */
export function startMetricsWriter(file: string, metrics: HostMetrics, spool: Pick<Spool, "all" | "deadLetters">, log: HostLog): MetricsWriter {
  let writing: Promise<void> | undefined;
  /** The text last written: an idle host does not rewrite (and fsync) the same figures every 10 s. */
  let written: string | undefined;
  const write = () =>
    (writing ??= (async () => {
      try {
        const text = metrics.render(await spoolGauges(spool));
        if (text === written) return;
        await writeMetricsFile(file, text);
        written = text;
      } catch (error) {
        log({ event: "metrics.error", file, error: errorMessage(error) });
      } finally {
        writing = undefined;
      }
    })());
  const timer = setInterval(() => void write(), METRICS_INTERVAL_MS);
  timer.unref();
  return {
    write,
    async stop() {
      clearInterval(timer);
      await writing;
      await write();
    },
  };
}
