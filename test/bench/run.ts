// `make bench`: the echo bot per mail as a fresh `node` process (the baseline) against the same
// bot in the sandbox, and the whole host service under a burst through a real relay (when root
// with Postfix and Dovecot; else that phase says it skipped), then the runner's RSS over a soak of
// 10 000 events, idle hosts, and the CPU of one echo part by part with synthetic and real-core mail
// (mail-parts.ts), the host beside a resident Delta Chat bot on the relay (resident-bench.ts), and
// the pipeline's loaded bots under their cap (loaded-bots-bench.ts) and a bot's state held by its
// runner (state-bench.ts), all measured in this one run. Prints a readable report, or JSON with --json.
// Timing never fails the bench (2 cores, noisy); a bot that does not echo correctly does (exit 1).
// Run with: npx vite-node test/bench/run.ts [--json]   (after `make build`: the runner is lib/…)
import "./production-env.js";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { request } from "../support/sandbox.js";
import { measureBaseline } from "./baseline.js";
import { measureDeliver } from "./deliver-bench.js";
import { buildBenchBots } from "./bots.js";
import { measureExecutor } from "./executor-bench.js";
import { measureIsolate } from "./isolate-bench.js";
import { measureRssSoak } from "./rss-soak.js";
import { IDLE_SETTLE_MS, measureIdle } from "./idle-bench.js";
import { measureServiceBurst } from "./service-bench.js";
import { measureResidentVsHost } from "./resident-bench.js";
import { measureTemplates } from "./template-bench.js";
import { measureWalls } from "./walls-bench.js";
import { formatReport, TARGETS, type BenchReport, type MailPartsReport } from "./report.js";
import { Executor } from "../../host/executor/executor.js";
import { measureMailParts } from "./mail-parts.js";
import { REAL_CORE_MAIL_DIR } from "./real-core-fixtures.js";
import { runBench } from "./run-bench.js";
import { measureLoadedBots } from "./loaded-bots-bench.js";
import { measureStateCache } from "./state-bench.js";

const SAMPLE_MAIL = fileURLToPath(new URL("../../templates/echo/sample.eml", import.meta.url));
/** The reply both the baseline and the sandbox must produce for sample.eml ("hello"). */
const REPLY_TEXT = "echo: hello";
/** The generated bot's bundle size, bytes. */
const LARGE_BUNDLE_BYTES = 50 * 1024;

/** Sample counts, each capped in wall time so the whole bench stays under about a minute. */
const BUDGETS = {
  baseline: { n: 30, maxMs: 8000, warmUp: 2 },
  /** Alternating `host deliver` and `node -e 0` runs: n of each. */
  deliver: { n: 30, maxMs: 10000, warmUp: 2 },
  executor: { n: 2000, maxMs: 8000, warmUp: 100 },
  throughputMs: 3000,
  /**
   * The service burst through the relay: 1 000 mails from one user at concurrency 1, then 2 as far as
   * ~90 s allow; then 60 single mails one at a time (~15 s); then 1 000 mails from 100 senders to 10
   * bots at concurrency 2 (~30 s).
   */
  service: { mails: 1000, concurrencies: [1, 2], maxMs: 90_000, singles: 60, spread: { bots: 10, senders: 100, mails: 1000, concurrency: 2 } },
  /** The poll template's /poll through chatbot/testing. */
  templates: { n: 30, maxMs: 6000, warmUp: 2 },
  /** The RSS soak (issue 15, part 4: RSS after 10 000 events within 10 % of after 100): 100 untimed events, then 9 900 more, RSS read every 500. */
  rssSoak: { events: 9_900, maxMs: 60_000, sampleEvery: 500, warmUp: 100 },
  /** Idle hosts (issue 15): 1 bot, then this many copies; each left alone for the window after a settle. */
  idle: { bots: 10_000, settleMs: IDLE_SETTLE_MS, windowMs: 65_000 },
  /** CPU per echo, part by part (issue 15 part 2): calls of each part per mail set (synthetic, real-core). */
  mailParts: { n: 200 },
  /** Runner walls: 5 starts of each kind, then 6 alternating blocks of 200 echo events each. */
  walls: { starts: 5, blocks: 6, blockEvents: 200 },
  /** Host vs a resident Delta Chat bot (issue 15 part 5): echoes to each, one at a time (~0.6 s each). */
  resident: { echoes: 30 },
  /** The pipeline's loaded bots (issue 15 part 1): echo bots, two rounds of a mail each, three ways (~20 s). */
  loadedBots: { bots: 200 },
  /** A bot's state held by its runner: a state of this many ~900-character values, events per way (~15 s). */
  stateCache: { keys: 1000, events: 200 },
  inProcess: {
    events: { n: 2000, maxMs: 6000, warmUp: 100 },
    largeEvents: { n: 300, maxMs: 5000, warmUp: 10 },
    parts: { n: 1000, maxMs: 2000, warmUp: 50 },
    largeParts: { n: 200, maxMs: 2000, warmUp: 5 },
    slots: { n: 30, maxMs: 2000, warmUp: 2 },
    wasmCompile: { n: 5, maxMs: 2000 },
  },
};

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) return match[1]!.trim();
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return cpus()[0]?.model ?? "unknown CPU";
}

async function main(): Promise<void> {
  const json = process.argv.slice(2).includes("--json");
  const startedAt = performance.now();
  const meta = { date: new Date().toISOString(), node: process.version, cpuModel: cpuModel(), cores: cpus().length, loadAverage: loadavg() };
  const log = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };

  log("building the echo template and a ~50 KB bot …");
  const bots = await buildBenchBots(LARGE_BUNDLE_BYTES);
  try {
    const mail = await readFile(SAMPLE_MAIL);
    // The event sample.eml becomes: "hello" from alice (test/support builds it the way the host does).
    const echoRequest = request(bots.echo.bundle);
    const largeRequest = request(bots.large.bundle);

    log(`1/13 baseline: node per mail (n=${BUDGETS.baseline.n}) …`);
    const baseline = await measureBaseline(mail, BUDGETS.baseline);
    if (baseline.replyText !== REPLY_TEXT)
      throw new Error(`the baseline replied ${JSON.stringify(baseline.replyText)}, expected ${JSON.stringify(REPLY_TEXT)}`);

    log(`2/13 Executor: ${BUDGETS.executor.n} events, then ${BUDGETS.throughputMs / 1000} s of throughput …`);
    const executor = await measureExecutor(echoRequest, REPLY_TEXT, BUDGETS.executor, BUDGETS.throughputMs);

    log("3/13 in process: runInIsolate, its parts, the 50 KB bundle, module slots …");
    const inProcess = await measureIsolate(echoRequest, largeRequest, REPLY_TEXT, BUDGETS.inProcess);

    log(`4/13 host deliver (spawn → spooled → exit) vs node -e 0 (n=${BUDGETS.deliver.n} each, alternating) …`);
    const deliver = await measureDeliver(mail, BUDGETS.deliver);

    log(`5/13 service burst: ${BUDGETS.service.mails} encrypted mails through Postfix → host serve → SMTP (≤ ~${BUDGETS.service.maxMs / 1000} s) …`);
    const service = await measureServiceBurst({ ...BUDGETS.service, log });
    if ("skipped" in service) log(`   SKIPPED: ${service.skipped}`);

    log(`6/13 the poll template's /poll through chatbot/testing (n=${BUDGETS.templates.n}) …`);
    const templates = await measureTemplates(BUDGETS.templates);

    log(`7/13 RSS soak: ${BUDGETS.rssSoak.events} events on one runner after ${BUDGETS.rssSoak.warmUp} untimed (≤ ${BUDGETS.rssSoak.maxMs / 1000} s) …`);
    const rssSoak = await measureRssSoak(BUDGETS.rssSoak);

    log(
      `8/13 runner walls: ${BUDGETS.walls.starts} runner starts plain and walled, ${BUDGETS.walls.blocks}×${BUDGETS.walls.blockEvents} echo events each, bot switches …`,
    );
    const walls = await measureWalls(echoRequest, REPLY_TEXT, BUDGETS.walls);
    if ("skipped" in walls) log(`   SKIPPED: ${walls.skipped}`);

    log(`9/13 idle: host serve with 1 bot, then with ${BUDGETS.idle.bots} (copies), each idle for ${BUDGETS.idle.windowMs / 1000} s …`);
    const idle = await measureIdle(BUDGETS.idle.bots, BUDGETS.idle.settleMs, BUDGETS.idle.windowMs);

    log(`10/13 CPU per echo, part by part: synthetic and real-core mail (${BUDGETS.mailParts.n} calls of each part) …`);
    const mailParts = await measureEchoParts(BUDGETS.mailParts.n);
    if ("skipped" in mailParts) log(`   SKIPPED: ${mailParts.skipped}`);

    log(`11/13 host vs a resident Delta Chat bot on the relay: ${BUDGETS.resident.echoes} echoes each, alternating …`);
    const resident = await measureResidentVsHost(BUDGETS.resident.echoes, log);
    if ("skipped" in resident) log(`   SKIPPED: ${resident.skipped}`);

    log(`12/13 loaded bots: ${BUDGETS.loadedBots.bots} echo bots in process, under the host's cap, no cap and a cap of 1, then idle …`);
    const loadedBots = await measureLoadedBots(BUDGETS.loadedBots.bots);

    log(
      `13/13 a bot's state held by its runner: ${BUDGETS.stateCache.keys} keys, ${BUDGETS.stateCache.events} events a way, then the pipeline with and without such a state …`,
    );
    const stateCache = await measureStateCache(BUDGETS.stateCache.keys, BUDGETS.stateCache.events);

    const report: BenchReport = {
      meta: { ...meta, loadAverageEnd: loadavg(), benchSeconds: (performance.now() - startedAt) / 1000 },
      targets: TARGETS,
      baseline,
      executor,
      inProcess,
      deliver,
      service,
      templates,
      rssSoak,
      walls,
      idle,
      mailParts,
      resident,
      loadedBots,
      stateCache,
      bundles: { echoBytes: bots.echo.bundleBytes, largeBytes: bots.large.bundleBytes },
      ratios: {
        speedupMedian: baseline.perMailMs.median / executor.perEventMs.median,
        speedupP95: baseline.perMailMs.p95 / executor.perEventMs.p95,
        transportOverheadMs: executor.perEventMs.median - inProcess.echo.eventMs.median,
        largeVsEchoEvent: inProcess.large.eventMs.median / inProcess.echo.eventMs.median,
      },
    };
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  } finally {
    await bots.dispose();
  }
}

/** Phase 10: the per-part budget of one echo (mail-parts.ts) for both mail sets, on an Executor of its own. */
async function measureEchoParts(n: number): Promise<MailPartsReport> {
  if (!existsSync(REAL_CORE_MAIL_DIR))
    return { skipped: `no recorded real-core mail in ${REAL_CORE_MAIL_DIR} (npx vite-node test/bench/record-real-core-mail.ts)` };
  const executor = new Executor({ concurrency: 1 });
  try {
    await executor.warmUp();
    return { synthetic: await measureMailParts("synthetic", n, executor), realCore: await measureMailParts("real-core", n, executor) };
  } finally {
    await executor.close();
  }
}

runBench(main, "bench failed: ");
