// Prometheus metrics of the host, counted from the events it logs: `host serve` hands every event
// it logs to `HostMetrics.observe` (typed, host-event.ts) and writes `render()` to
// <data>/metrics.prom every METRICS_INTERVAL_MS (for node_exporter's textfile collector). Counting
// what is logged keeps one source of truth: a number in the metrics is a line in logs/host.jsonl.
// Counters start at 0 when the service starts (Prometheus' rate() handles the reset).
// Text format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
import { open, unlink } from "node:fs/promises";
import { renameUnsynced } from "../spool/durable-fs.js";
import type { Spool } from "../spool/spool.js";
import type { HostEvent } from "./host-event.js";

/** How often `host serve` rewrites the metrics file, ms. */
export const METRICS_INTERVAL_MS = 10_000;

/** Gauges read from the spool when the metrics are written. */
export interface SpoolGauges {
  /** Mails waiting in spool/new. */
  spoolEntries: number;
  /** Mails given up, in spool/dead. */
  deadLetters: number;
}

type Labels = Readonly<Record<string, string>>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Map<string, { labels: Labels; value: number }>;
}

const COUNTERS = {
  events: ["chatbot_events_total", "Events the bots ran (messages and ticks), by outcome."],
  cpuMs: ["chatbot_cpu_ms_total", "Guest CPU time the bots' events used, milliseconds."],
  sent: ["chatbot_mails_sent_total", "Mails the bots' events sent."],
  dropped: ["chatbot_mails_dropped_total", "Incoming mails dropped before the bot saw them."],
  refused: ["chatbot_refused_total", "Events the host answered instead of the bot: a per-user limit (reason = its name) or consent (/stop, /start)."],
  deferred: ["chatbot_deferred_total", "Events put back in the spool because the bot's CPU budget was used up."],
  retries: ["chatbot_spool_retries_total", "Spool entries whose delivery failed and will be retried."],
  evicted: ["chatbot_bots_evicted_total", "Bots the pipeline unloaded between their events (idle, or over its cap of loaded bots), by why."],
} as const;

/** Escape a label value: backslash, double quote and newline (the text format's rule). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escape HELP text: backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabelValue(value)}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

/** Counters of the host's log events, rendered in the Prometheus text format. */
export class HostMetrics {
  readonly #families = new Map<keyof typeof COUNTERS, Family>();

  constructor() {
    for (const [key, [name, help]] of Object.entries(COUNTERS)) {
      this.#families.set(key as keyof typeof COUNTERS, { name, help, type: "counter", samples: new Map() });
    }
  }

  /** Count one logged event (other events are ignored). */
  observe(event: HostEvent): void {
    switch (event.event) {
      case "bot.event":
      case "bot.tick": {
        const bot = event.bot.toLowerCase();
        this.#add("events", { bot, status: event.status }, 1);
        this.#add("cpuMs", { bot }, finite(event.cpuMs));
        this.#add("sent", { bot }, finite(event.sent));
        break;
      }
      case "mail.dropped":
        this.#add("dropped", { bot: event.bot.toLowerCase() }, 1);
        break;
      case "bot.refused":
        // The label is a fixed word (the limit's name, consent or report), so labels stay few.
        this.#add("refused", { bot: event.bot.toLowerCase(), reason: event.refusal.kind === "per-user-limit" ? event.refusal.limit : event.refusal.kind }, 1);
        break;
      case "bot.deferred":
        this.#add("deferred", { bot: event.bot.toLowerCase() }, 1);
        break;
      case "spool.retry":
        this.#add("retries", {}, 1);
        break;
      case "bots.evicted":
        this.#add("evicted", { why: event.why }, event.count);
        break;
    }
  }

  /** The metrics file's text: the counters, then the spool's gauges. Samples are sorted, so equal counts give equal text. */
  render(gauges: SpoolGauges): string {
    const families: Family[] = [
      ...this.#families.values(),
      gauge("chatbot_spool_entries", "Mails waiting in the spool.", gauges.spoolEntries),
      gauge("chatbot_dead_letters", "Mails given up (spool/dead), kept for the operator.", gauges.deadLetters),
    ];
    const out: string[] = [];
    for (const family of families) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      const keys = [...family.samples.keys()].sort();
      for (const key of keys) {
        const sample = family.samples.get(key)!;
        out.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
      }
    }
    return `${out.join("\n")}\n`;
  }

  #add(key: keyof typeof COUNTERS, labels: Labels, by: number): void {
    const family = this.#families.get(key)!;
    const id = JSON.stringify(labels);
    const sample = family.samples.get(id);
    if (sample) sample.value += by;
    else family.samples.set(id, { labels, value: by });
  }
}

function gauge(name: string, help: string, value: number): Family {
  return { name, help, type: "gauge", samples: new Map([["{}", { labels: {}, value }]]) };
}

/** A count to add: a number that is not finite adds 0, so one bad measurement never breaks a counter. */
function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/** A sample value: integers as they are, fractions rounded to microseconds (float sums drift). */
function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

/** The spool's gauges now. */
export async function spoolGauges(spool: Pick<Spool, "all" | "deadLetters">): Promise<SpoolGauges> {
  const [entries, dead] = await Promise.all([spool.all(), spool.deadLetters()]);
  return { spoolEntries: entries.length, deadLetters: dead.length };
}

/**
 * Replace the metrics file atomically (a temp file in the same folder, then rename), so the
 * collector never reads half a file. Mode 0644: node_exporter runs as another user; in the
 * default place the data directory (0700) keeps it private.
 */
export async function writeMetricsFile(file: string, text: string): Promise<void> {
  // node_exporter reads only *.prom, so it skips the temp file.
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, "w", 0o644);
  try {
    await handle.writeFile(text);
    await handle.chmod(0o644);
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  // Not fsynced: the file is rewritten every METRICS_INTERVAL_MS and its counters restart with the service anyway.
  await renameUnsynced(temp, file);
}
