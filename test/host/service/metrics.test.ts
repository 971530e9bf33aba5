import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { HostEvent } from "../../../host/service/host-event.js";
import { escapeLabelValue, HostMetrics, spoolGauges, writeMetricsFile } from "../../../host/service/metrics.js";
import { Spool } from "../../../host/spool/spool.js";

const LINES: HostEvent[] = [
  { event: "bot.event", bot: "a@chat.test", from: "u@x.test", status: "ok", cpuMs: 3, wallMs: 9, memoryBytes: 1, sent: 1 },
  { event: "bot.event", bot: "a@chat.test", from: "u@x.test", status: "ok", cpuMs: 2.5, wallMs: 9, memoryBytes: 1, sent: 0 },
  {
    event: "bot.event",
    bot: "a@chat.test",
    from: "u@x.test",
    status: "bot-error",
    cpuMs: 10,
    wallMs: 12,
    memoryBytes: 1,
    sent: 0,
    error: "E_BOT",
    message: "boom",
  },
  { event: "bot.tick", bot: "b@chat.test", at: 1, status: "ok", cpuMs: 1, sent: 2 },
  { event: "mail.dropped", bot: "a@chat.test", reason: "not encrypted" },
  {
    event: "bot.refused",
    bot: "a@chat.test",
    from: "u@x.test",
    reason: "per-user limit mailsPerHour (60/60)",
    notified: true,
    refusal: { kind: "per-user-limit", limit: "mailsPerHour" },
  },
  { event: "bot.refused", bot: "a@chat.test", from: "u@x.test", reason: "consent: /stop", notified: true, refusal: { kind: "consent", command: "stop" } },
  { event: "bot.deferred", bot: "b@chat.test", from: "u@x.test", reason: "bot CPU budget botCpuMsPerHour used up", until: 5 },
  { event: "spool.retry", bot: "a@chat.test", entry: "1", code: "SMTP_CONNECTION", attempts: 1, nextAttemptAt: 2, error: "smtp down" },
  { event: "spool.retry", bot: "b@chat.test", entry: "2", code: "SMTP_CONNECTION", attempts: 1, nextAttemptAt: 2, error: "smtp down" },
  { event: "lmtp.spooled", bot: "a@chat.test", entry: "3", from: "u@x.test" },
  { event: "bots.evicted", count: 3, loaded: 64, why: "cap" },
  { event: "bots.evicted", count: 2, loaded: 10, why: "idle" },
  { event: "bots.evicted", count: 1, loaded: 9, why: "idle" },
  { event: "bot.event", bot: 'we"ird\\bot\n@chat.test', from: "u@x.test", status: "ok", cpuMs: 1, wallMs: 2, memoryBytes: 1, sent: 0 },
];

const GOLDEN = `# HELP chatbot_events_total Events the bots ran (messages and ticks), by outcome.
# TYPE chatbot_events_total counter
chatbot_events_total{bot="a@chat.test",status="bot-error"} 1
chatbot_events_total{bot="a@chat.test",status="ok"} 2
chatbot_events_total{bot="b@chat.test",status="ok"} 1
chatbot_events_total{bot="we\\"ird\\\\bot\\n@chat.test",status="ok"} 1
# HELP chatbot_cpu_ms_total Guest CPU time the bots' events used, milliseconds.
# TYPE chatbot_cpu_ms_total counter
chatbot_cpu_ms_total{bot="a@chat.test"} 15.5
chatbot_cpu_ms_total{bot="b@chat.test"} 1
chatbot_cpu_ms_total{bot="we\\"ird\\\\bot\\n@chat.test"} 1
# HELP chatbot_mails_sent_total Mails the bots' events sent.
# TYPE chatbot_mails_sent_total counter
chatbot_mails_sent_total{bot="a@chat.test"} 1
chatbot_mails_sent_total{bot="b@chat.test"} 2
chatbot_mails_sent_total{bot="we\\"ird\\\\bot\\n@chat.test"} 0
# HELP chatbot_mails_dropped_total Incoming mails dropped before the bot saw them.
# TYPE chatbot_mails_dropped_total counter
chatbot_mails_dropped_total{bot="a@chat.test"} 1
# HELP chatbot_refused_total Events the host answered instead of the bot: a per-user limit (reason = its name) or consent (/stop, /start).
# TYPE chatbot_refused_total counter
chatbot_refused_total{bot="a@chat.test",reason="consent"} 1
chatbot_refused_total{bot="a@chat.test",reason="mailsPerHour"} 1
# HELP chatbot_deferred_total Events put back in the spool because the bot's CPU budget was used up.
# TYPE chatbot_deferred_total counter
chatbot_deferred_total{bot="b@chat.test"} 1
# HELP chatbot_spool_retries_total Spool entries whose delivery failed and will be retried.
# TYPE chatbot_spool_retries_total counter
chatbot_spool_retries_total 2
# HELP chatbot_bots_evicted_total Bots the pipeline unloaded between their events (idle, or over its cap of loaded bots), by why.
# TYPE chatbot_bots_evicted_total counter
chatbot_bots_evicted_total{why="cap"} 3
chatbot_bots_evicted_total{why="idle"} 3
# HELP chatbot_spool_entries Mails waiting in the spool.
# TYPE chatbot_spool_entries gauge
chatbot_spool_entries 3
# HELP chatbot_dead_letters Mails given up (spool/dead), kept for the operator.
# TYPE chatbot_dead_letters gauge
chatbot_dead_letters 1
`;

describe("host metrics", () => {
  it("metrics: a known set of log lines renders exactly the golden text", () => {
    const metrics = new HostMetrics();
    for (const line of LINES) metrics.observe(line);
    expect(metrics.render({ spoolEntries: 3, deadLetters: 1 })).toBe(GOLDEN);
  });

  it("metrics: label values escape backslash, double quote and newline as the exposition format says", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeLabelValue("plain@chat.test")).toBe("plain@chat.test");
  });

  it("metrics: before any event the families are declared and the spool gauges are present", () => {
    const text = new HostMetrics().render({ spoolEntries: 0, deadLetters: 0 });
    expect(text).toMatch(/^# TYPE chatbot_events_total counter$/m);
    expect(text).not.toMatch(/^chatbot_events_total/m);
    expect(text).toMatch(/^chatbot_spool_entries 0$/m);
    expect(text).toMatch(/^chatbot_dead_letters 0$/m);
  });

  it("metrics: a refusal is labelled from the event's typed refusal, not by reading its sentence", () => {
    const metrics = new HostMetrics();
    metrics.observe({
      event: "bot.refused",
      bot: "a@chat.test",
      from: "u@x.test",
      reason: "some other wording",
      notified: false,
      refusal: { kind: "per-user-limit", limit: "bytesPerHour" },
    });
    metrics.observe({
      event: "bot.refused",
      bot: "a@chat.test",
      from: "u@x.test",
      reason: "some other wording",
      notified: true,
      refusal: { kind: "consent", command: "start" },
    });
    const text = metrics.render({ spoolEntries: 0, deadLetters: 0 });
    expect(text).toMatch(/^chatbot_refused_total\{bot="a@chat\.test",reason="bytesPerHour"\} 1$/m);
    expect(text).toMatch(/^chatbot_refused_total\{bot="a@chat\.test",reason="consent"\} 1$/m);
  });

  it("metrics: a count that is not finite adds 0 and never breaks the counters; bot labels are lower case", () => {
    const metrics = new HostMetrics();
    metrics.observe({
      event: "bot.event",
      bot: "A@Chat.Test",
      from: "u@x.test",
      status: "ok",
      cpuMs: Number.NaN,
      wallMs: 1,
      memoryBytes: 1,
      sent: Number.POSITIVE_INFINITY,
    });
    const text = metrics.render({ spoolEntries: 0, deadLetters: 0 });
    expect(text).toMatch(/^chatbot_events_total\{bot="a@chat\.test",status="ok"\} 1$/m);
    expect(text).toMatch(/^chatbot_cpu_ms_total\{bot="a@chat\.test"\} 0$/m);
    expect(text).toMatch(/^chatbot_mails_sent_total\{bot="a@chat\.test"\} 0$/m);
  });

  it("metrics file: replaced atomically, readable by the collector (0644), no temp file left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "metrics-"));
    const file = join(dir, "metrics.prom");
    await writeMetricsFile(file, "first 1\n");
    await writeMetricsFile(file, GOLDEN);
    expect(readFileSync(file, "utf8")).toBe(GOLDEN);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(["metrics.prom"]);
  });

  it("metrics: the spool gauges count waiting entries and dead letters", async () => {
    const spool = new Spool(join(mkdtempSync(join(tmpdir(), "metrics-spool-")), "spool"), { now: () => 1000 });
    for (const n of [1, 2, 3]) await spool.write("a@chat.test", Buffer.from(`mail ${n}`), 1000);
    const [first] = await spool.all();
    await spool.deadLetter(first!, "given up");
    expect(await spoolGauges(spool)).toEqual({ spoolEntries: 2, deadLetters: 1 });
  });
});
