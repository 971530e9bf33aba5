// The bench's one report: every figure from the same run, compared as ratios to the baseline of
// that run, targets printed beside the results (never enforced: the machine is small and noisy).
import type { BaselineResult } from "./baseline.js";
import type { DeliverResult } from "./deliver-bench.js";
import type { ExecutorResult, RssPoint } from "./executor-bench.js";
import type { IsolateResult } from "./isolate-bench.js";
import type { RssSoakResult } from "./rss-soak.js";
import type { ServiceResult, ServiceRound } from "./service-bench.js";
import type { TemplateResult } from "./template-bench.js";
import type { WallsResult } from "./walls-bench.js";
import type { IdleResult } from "./idle-bench.js";
import type { LoadedBotsResult } from "./loaded-bots-bench.js";
import type { StateBenchResult, StateCpu } from "./state-bench.js";
import type { Summary } from "./stats.js";
import type { MailPartsResult } from "./mail-parts.js";
import type { ResidentResult } from "./resident-bench.js";

/** Targets from the issue; printed next to the results. */
export const TARGETS = Object.freeze({
  /** Baseline median / Executor median per event. */
  speedupVsNodePerMail: 50,
  /** runInIsolate median for the echo event, ms. */
  inProcessEventMedianMs: 1.5,
  /** `host deliver` median / `node -e 0` median: the pipe door costs little more than starting node. */
  deliverVsNodeStartup: 1.5,
  /** Service burst: first "lmtp.spooled" → last reply accepted by SMTP, events/s on this machine. */
  serviceEventsPerSecond: 100,
  /** Echo event behind the runner walls / without them (issue 12: within 10 %). */
  wallsEventRatio: 1.1,
  /** CPU of the poll template's /poll event (it builds the webxdc app), median, ms: a fifth of the default budget. */
  pollEventCpuMs: 200,
  /** Issue 15: what 10 000 idle bots may add to host serve + runner RSS over 1 bot, MiB. */
  idleAddedMiB: 20,
  /** Issue 15: idle CPU of the whole host (serve + runner), ms per second, whatever the number of bots. */
  idleCpuMsPerS: 1,
  /** Issue 15: host serve ready (service.started) with 10 000 bots, ms. */
  idleReadyMs: 2000,
  /** Issue 15: runner RSS after 10 000 events / after 100. */
  runnerRssGrowth: 1.1,
  /** Issue 15 part 2: CPU of `host serve` per echo of real-core mail, ms (the per-part sum). */
  echoCpuMs: 8,
  /** Issue 15 part 3: p95 host-added latency (spooled → reply accepted by SMTP) of single mails on an idle host, ms. */
  singleLatencyP95Ms: 50,
});

export interface BenchReport {
  meta: { date: string; node: string; cpuModel: string; cores: number; loadAverage: number[]; loadAverageEnd: number[]; benchSeconds: number };
  targets: typeof TARGETS;
  baseline: BaselineResult;
  executor: ExecutorResult;
  inProcess: IsolateResult;
  deliver: DeliverResult;
  service: ServiceResult;
  templates: TemplateResult;
  rssSoak: RssSoakResult;
  walls: WallsResult;
  idle: IdleResult;
  mailParts: MailPartsReport;
  resident: ResidentResult;
  loadedBots: LoadedBotsResult;
  stateCache: StateBenchResult;
  bundles: { echoBytes: number; largeBytes: number };
  ratios: {
    /** Baseline median / Executor median (the headline). */
    speedupMedian: number;
    /** Baseline p95 / Executor p95. */
    speedupP95: number;
    /** Executor median − runInIsolate median: IPC, structured clone, Worker hop, ms. */
    transportOverheadMs: number;
    /** Large-bundle event median / echo event median, in process. */
    largeVsEchoEvent: number;
  };
}

const ms = (x: number) => (x >= 100 ? `${x.toFixed(0)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
const us = (x: number) => `${(x * 1000).toFixed(0)} µs`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const times = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`;
const bytes = (n: number) => `${n.toLocaleString("en-US")} B`;
const met = (ok: boolean) => (ok ? "met" : "NOT met");
const stat = (s: Summary) => `median ${ms(s.median).padStart(8)}   p95 ${ms(s.p95).padStart(8)}   n=${s.n}`;
const rssLine = (label: string, p: RssPoint) =>
  `     ${label.padEnd(34)} runner ${mib(p.runnerBytes).padStart(9)} (peak ${mib(p.runnerPeakBytes)})   host ${mib(p.hostBytes)}`;

/** The human-readable report. */
export function formatReport(r: BenchReport): string {
  const { baseline, executor, inProcess, deliver, ratios, meta, bundles } = r;
  const echoParts = inProcess.echo.parts;
  const largeParts = inProcess.large.parts;
  const rest = inProcess.echo.eventMs.median - echoParts.createDisposeMs.median - echoParts.evalMs.median - echoParts.heapSampleMs.median;
  const row = (label: string, s: Summary) => `${label.padEnd(66)} ${stat(s)}`;
  const part = (label: string, text: string) => `     ${label.padEnd(44)} ${text}`;
  return [
    `chatbot bench · ${meta.date} · Node ${meta.node} · ${meta.cpuModel} (${meta.cores} cores) · load ${meta.loadAverage.map((l) => l.toFixed(2)).join(" ")}`,
    "All figures come from this one run on this machine; ratios compare against the baseline measured in it. Timing never fails the bench.",
    "",
    row("1. Baseline: echo as `node echo-cgi.cjs` per mail (spawn → exit)", baseline.perMailMs),
    row("2. Sandbox echo event via the Executor (IPC → worker → isolate)", executor.perEventMs),
    `   CPU per event: runner ${ms(executor.cpuMsPerEvent.runner)} (IPC + worker + isolate), host ${ms(executor.cpuMsPerEvent.host)}; mean wall ${ms(executor.perEventMs.mean)}`,
    `   per-event speed-up vs node-per-mail: ${times(ratios.speedupMedian)} (target ≥ ${TARGETS.speedupVsNodePerMail}×: ${met(ratios.speedupMedian >= TARGETS.speedupVsNodePerMail)})   p95 vs p95: ${times(ratios.speedupP95)}`,
    row("3. Sandbox part of an echo event, in process (runInIsolate)", inProcess.echo.eventMs),
    `   target ≤ ${TARGETS.inProcessEventMedianMs} ms median: ${met(inProcess.echo.eventMs.median <= TARGETS.inProcessEventMedianMs)}; CPU per event ${ms(inProcess.echo.cpuMsPerEvent)}`,
    part("fresh runtime+context, create + dispose", `median ${us(echoParts.createDisposeMs.median)}`),
    part(
      `bundle eval, ${bytes(bundles.echoBytes)} (compile + top level)`,
      `median ${us(echoParts.evalMs.median)}   (compile alone ${us(echoParts.compileMs.median)})`,
    ),
    part("heap sample (dumpMemoryUsage, ≥ 1 per event)", `median ${us(echoParts.heapSampleMs.median)}`),
    part("rest: host bridge, handler, jobs, result", `≈ ${us(rest)}   (event median − the parts above)`),
    `   transport (2 − 3: IPC, structured clone, worker hop): ≈ ${ms(ratios.transportOverheadMs)} per event`,
    `4. Events per second on one core (Executor, concurrency 1, ${executor.throughput.seconds.toFixed(1)} s): ${executor.throughput.perSecond.toFixed(0)} events/s (${executor.throughput.events} events)`,
    "5. Resident memory (VmRSS; VmHWM as peak)",
    rssLine("runner ready, before any event", executor.rss.ready),
    rssLine("after the warm-up events", executor.rss.warmedUp),
    rssLine(`after ${executor.perEventMs.n} events`, executor.rss.afterEvents),
    rssLine(`after ${executor.throughput.events} more (throughput)`, executor.rss.afterThroughput),
    `     (host = this bench process under vite-node; runners started: ${executor.runnersStarted})`,
    row(`6. ~50 KB bundle (${bytes(bundles.largeBytes)}), in-process event`, inProcess.large.eventMs),
    `   CPU per event ${ms(inProcess.large.cpuMsPerEvent)}; vs echo (${bytes(bundles.echoBytes)}, ${times(bundles.largeBytes / bundles.echoBytes)} the bytes): ${times(ratios.largeVsEchoEvent)} the time per event (+${ms(inProcess.large.eventMs.median - inProcess.echo.eventMs.median)})`,
    part("bundle eval (compile + top level)", `median ${ms(largeParts.evalMs.median)}   (compile alone ${ms(largeParts.compileMs.median)})`),
    part("heap sample (dumpMemoryUsage)", `median ${us(largeParts.heapSampleMs.median)}`),
    row("7. Module slot (createModuleSlot), paid after an OOM recycle", inProcess.slotCreateMs),
    `   WASM compile (compileQuickJSWasm, once per sandbox worker): median ${ms(inProcess.wasmCompileMs.median)} (n=${inProcess.wasmCompileMs.n})`,
    ...deliverLines(deliver),
    ...serviceLines(r.service, meta.cores),
    ...templateLines(r.templates),
    ...rssSoakLines(r.rssSoak),
    ...wallsLines(r.walls),
    ...idleLines(r.idle),
    ...mailPartsLines(r.mailParts),
    ...residentLines(r.resident, r.idle),
    ...loadedBotsLines(r.loadedBots),
    ...stateLines(r.stateCache),
    "",
    `Bench took ${meta.benchSeconds.toFixed(1)} s; load average at the end ${meta.loadAverageEnd.map((l) => l.toFixed(2)).join(" ")} (other processes share these ${meta.cores} cores).`,
  ].join("\n");
}

/** Section 16: the pipeline's loaded bots, bounded and evicted when idle (issue 15 part 1). */
export function loadedBotsLines(r: LoadedBotsResult): string[] {
  const cap = r.hostCap;
  const idle = r.idle;
  return [
    `16. Loaded bots in the pipeline (host cap: ${cap.maxBots} bots, ${mib(cap.maxBundleChars)} of bundles, evicted after ${cap.idleMs / 60_000} idle min): ${r.bots} echo bots, two rounds of one mail each, in process`,
    ...r.runs.map(
      (run) =>
        `    ${run.way.padEnd(28)} loaded at the end ${String(run.loadedAtEnd).padStart(4)}, evicted in round 2 ${String(run.evictedInRound2).padStart(4)}, heap +${run.heapAddedMiB.toFixed(1)} MiB (${run.heapPerLoadedBotKiB.toFixed(0)} KiB per loaded bot), round 2 CPU ${ms(run.round2CpuMsPerMail)} per mail`,
    ),
    `    idle: ${idle.loadedAfterRound} of ${idle.bots} bots loaded after a round, ${idle.loadedAfterIdle} after ${idle.idleMs / 1000} s idle (the bench's idle time; the host's is ${cap.idleMs / 60_000} min), ${idle.evictedIdle} evicted as idle: ${met(idle.loadedAfterIdle === 0 && idle.loadedAfterRound === idle.bots)}`,
    "    (round 2 CPU: this process, the pipeline's work without the runner; a load is the gap between a cap below the bots and no cap)",
  ];
}

/** Section 17: a bot's state sent with every event against held by its runner (issue 15 part 2). */
export function stateLines(r: StateBenchResult): string[] {
  const row = (label: string, c: StateCpu) => `    ${label.padEnd(44)} runner ${ms(c.runner).padStart(8)}   host ${ms(c.host).padStart(8)}`;
  return [
    `17. A bot's state held by its runner: CPU per event through the Executor (${r.events} events), a state of ${r.keys} keys (${(r.stateChars / 1024).toFixed(0)} KiB of JSON)`,
    row("empty state", r.empty),
    row("reads one key, state sent with each event", r.reader.sent),
    row("reads one key, state held (stateToken)", r.reader.held),
    row("writes one key, state sent with each event", r.writer.sent),
    row("writes one key, state held (stateToken)", r.writer.held),
    "    (an event that changes the state sends back only the changes, with a token or without)",
    `    held against sent: runner ${times(r.reader.sent.runner / r.reader.held.runner)} less CPU reading, ${times(r.writer.sent.runner / r.writer.held.runner)} writing; host ${times(r.reader.sent.host / r.reader.held.host)} and ${times(r.writer.sent.host / r.writer.held.host)}`,
    `    through the pipeline in process (${r.pipeline.echo.mails} mails drained from the spool into a fake SMTP; the pipeline's CPU, its runner's not counted):`,
    `      the echo bot ${ms(r.pipeline.echo.cpuMsPerMail)} per mail; a bot writing one key into a state of ${r.keys} keys ${ms(r.pipeline.writer.cpuMsPerMail)} (${times(r.pipeline.writer.cpuMsPerMail / r.pipeline.echo.cpuMsPerMail)}; the state sent to its runner ${r.pipeline.writer.statesSent} time(s)); wall ${ms(r.pipeline.echo.wallMsPerMail)} and ${ms(r.pipeline.writer.wallMsPerMail)}`,
  ];
}

/** Section 13: what idle installed bots cost `host serve` (issue 15's targets). */
export function idleLines(idle: IdleResult): string[] {
  const line = (h: IdleResult["one"]) =>
    `    ${String(h.bots).padStart(6)} bot(s): ready in ${ms(h.startMs)}, idle CPU ${h.cpuMsPerS.toFixed(1)} ms/s, RSS ${(h.rssKiB / 1024).toFixed(1)} MiB (serve + runner)`;
  const addedMiB = (idle.many.rssKiB - idle.one.rssKiB) / 1024;
  return [
    `13. Idle host serve (nothing arrives; IMAP a closed port), CPU over ${idle.windowMs / 1000} s:`,
    line(idle.one),
    line(idle.many),
    `    ${idle.many.bots} bots add ${addedMiB.toFixed(1)} MiB (target ≤ ${TARGETS.idleAddedMiB} MiB: ${met(addedMiB <= TARGETS.idleAddedMiB)}), ${(idle.perBotRssKiB * 1024).toFixed(0)} B and ${(idle.perBotCpuMsPerS * 1000).toFixed(2)} µs/s per bot; idle CPU target ≤ ${TARGETS.idleCpuMsPerS} ms/s whatever the bots: ${met(idle.many.cpuMsPerS <= TARGETS.idleCpuMsPerS)}; ready target ≤ ${TARGETS.idleReadyMs / 1000} s: ${met(idle.many.startMs <= TARGETS.idleReadyMs)}`,
  ];
}

/** Section 8: `host deliver` against `node -e 0`. */
export function deliverLines(deliver: DeliverResult): string[] {
  const row = (label: string, s: Summary) => `${label.padEnd(66)} ${stat(s)}`;
  return [
    row("8. `host deliver` per mail, `node lib/deliver.cjs` (spawn → fsynced → exit)", deliver.deliverMs),
    row("   `node -e 0` (alternating with 8)", deliver.nodeMs),
    `   deliver / node -e 0: ${deliver.ratio.toFixed(2)}× (target ≤ ${TARGETS.deliverVsNodeStartup}×: ${met(deliver.ratio <= TARGETS.deliverVsNodeStartup)}); +${ms(deliver.deliverMs.median - deliver.nodeMs.median)} per mail`,
    row("   the same through the CLI (`node lib/host/cli/main.js host deliver`)", deliver.cliMs),
    `   CLI / node -e 0: ${deliver.cliRatio.toFixed(2)}× (its ES module graph: +${ms(deliver.cliMs.median - deliver.deliverMs.median)} over the bundle)`,
  ];
}

/** Section 10: the poll template's heaviest event through chatbot/testing. */
export function templateLines(t: TemplateResult): string[] {
  const row = (label: string, s: Summary) => `${label.padEnd(66)} ${stat(s)}`;
  return [
    row("10. Poll template: /poll with 12 options (builds the app), CPU", t.pollCpuMs),
    row("    the same, wall time (via chatbot/testing: IPC, worker, isolate)", t.pollWallMs),
    `    CPU target ≤ ${TARGETS.pollEventCpuMs} ms median: ${met(t.pollCpuMs.median <= TARGETS.pollEventCpuMs)}`,
  ];
}

/** Section 11: the runner's RSS over the soak, as growth per 1 000 events and as a ratio of the halves' peaks. */
export function rssSoakLines(soak: RssSoakResult): string[] {
  const growthKiB = soak.growthBytesPer1000Events / 1024;
  return [
    `11. RSS soak: ${soak.events} events on one runner in ${soak.seconds.toFixed(1)} s after ${soak.warmUpEvents} untimed: runner ${mib(soak.warmedBytes)} → ${mib(soak.endBytes)}, ${(soak.endBytes / soak.warmedBytes).toFixed(2)}× (target ≤ ${TARGETS.runnerRssGrowth.toFixed(2)}× after ${soak.warmUpEvents + soak.events} events: ${met(soak.endBytes / soak.warmedBytes <= TARGETS.runnerRssGrowth)})`,
    `    peak of the first half ${mib(soak.firstHalfPeakBytes)}, of the second ${mib(soak.secondHalfPeakBytes)}: ${growthKiB >= 0 ? "+" : ""}${growthKiB.toFixed(0)} KiB per 1 000 events, second/first ${soak.peakRatio.toFixed(2)}× (1.00 = flat; V8's GC moves RSS by ±20 MiB)`,
  ];
}

/** Section 9: the service burst through the relay, or the line saying why it did not run. */
export function serviceLines(service: ServiceResult, cores: number): string[] {
  if ("skipped" in service) return [`9. Service burst through Postfix: SKIPPED — ${service.skipped}.`];
  const first = service.rounds[0];
  const lines = [
    `9. Service burst: ${first?.mails ?? 0} encrypted mails from one user → real Postfix (SMTP, ${service.injectConnections} connections) → LMTP → \`host serve\` → echo → SMTP submission → Postfix → Dovecot`,
    `   set-up ${service.setupSeconds.toFixed(1)} s (relay, host init, build, install); composing ${service.composeMsPerMail.toFixed(1)} ms per mail before timing; phase ${service.phaseSeconds.toFixed(1)} s`,
  ];
  for (const round of service.rounds) lines.push(...roundLines(round, cores));
  for (const note of service.notes) lines.push(`   ${note}`);
  return lines;
}

function roundLines(r: ServiceRound, cores: number): string[] {
  return r.mode === "singles" ? singlesLines(r) : burstLines(r, cores);
}

/** A round of single mails on an idle host: the latency it adds, and the CPU of one echo through the whole relay. */
function singlesLines(r: ServiceRound): string[] {
  const c = r.cpuPerMail;
  return [
    `   single mails, one at a time on an idle host, ${r.mails} mails (round ${r.roundSeconds.toFixed(1)} s):`,
    `     latency spooled → reply accepted (host-added)    median ${ms(r.hostLatencyMs.median).padStart(8)}   p95 ${ms(r.hostLatencyMs.p95).padStart(8)}   n=${r.hostLatencyMs.n} (target p95 ≤ ${TARGETS.singleLatencyP95Ms} ms: ${met(r.hostLatencyMs.p95 <= TARGETS.singleLatencyP95Ms)})${r.unwatched ? ` (${r.unwatched} completions unseen)` : ""}`,
    startUpLine(r),
    `     latency Postfix accepted → reply in mailbox      median ${ms(r.userLatencyMs.median).padStart(8)}   p95 ${ms(r.userLatencyMs.p95).padStart(8)}`,
    `     sandbox (bot.event log): guest CPU median ${ms(r.guestCpuMs.median)}; wall median ${ms(r.sandboxWallMs.median)} p95 ${ms(r.sandboxWallMs.p95)}`,
    `     CPU per mail: serve: door ${ms(c.serve)} + pipeline ${ms(c.pipeline)} + runners ${ms(c.runners)} | Postfix ${ms(c.postfix)} | Dovecot ${ms(c.dovecot)} | injector ${ms(c.injector)} | machine ${ms(c.machine)} (both cores, the pauses between mails included)`,
  ];
}

function burstLines(r: ServiceRound, cores: number): string[] {
  const c = r.cpuPerMail;
  const listed = c.serve + c.pipeline + c.runners + c.postfix + c.dovecot + c.injector;
  const runnerRss = r.rss.runnerBytes.map((b, i) => `${mib(b)} (peak ${mib(r.rss.runnerPeakBytes[i]!)})`).join(", ") || "none";
  return [
    `   concurrency ${r.concurrency}, ${r.mails} mails${r.bots > 1 || r.senders > 1 ? ` from ${r.senders} senders to ${r.bots} bots` : ""}${r.pairs ? `, ${r.pairs}` : ""} (round ${r.roundSeconds.toFixed(1)} s incl. compose and the reply check):`,
    `     injection (Postfix accepted all ${r.mails})          ${r.injectSeconds.toFixed(2)} s = ${(r.mails / r.injectSeconds).toFixed(0)} mails/s`,
    `     end to end (first lmtp.spooled → last reply accepted by SMTP, i.e. its spool entry completed): ${r.endToEndSeconds.toFixed(1)} s = ${r.eventsPerSecond.toFixed(1)} events/s (target ≥ ${TARGETS.serviceEventsPerSecond}: ${met(r.eventsPerSecond >= TARGETS.serviceEventsPerSecond)})`,
    `     all replies in the user's mailbox ${r.mailboxSeconds.toFixed(1)} s after injection began`,
    `     latency spooled → reply accepted (by entry id)   median ${ms(r.hostLatencyMs.median).padStart(8)}   p95 ${ms(r.hostLatencyMs.p95).padStart(8)}   n=${r.hostLatencyMs.n}${r.unwatched ? ` (${r.unwatched} completions unseen)` : ""}`,
    `     latency Postfix accepted → reply in mailbox      median ${ms(r.userLatencyMs.median).padStart(8)}   p95 ${ms(r.userLatencyMs.p95).padStart(8)}   (a burst: mostly waiting in the spool)`,
    `     service time per event (gap between completions) median ${ms(r.completionGapMs.median).padStart(8)}   p95 ${ms(r.completionGapMs.p95).padStart(8)}   → ${(1000 / r.completionGapMs.median).toFixed(0)} events/s at the median`,
    `     sandbox (bot.event log): guest CPU median ${ms(r.guestCpuMs.median)} p95 ${ms(r.guestCpuMs.p95)}; wall median ${ms(r.sandboxWallMs.median)} p95 ${ms(r.sandboxWallMs.p95)}`,
    `     CPU per mail: serve: door ${ms(c.serve)} + pipeline ${ms(c.pipeline)} + runners ${ms(c.runners)} | Postfix ${ms(c.postfix)} | Dovecot ${ms(c.dovecot)} | injector (this process) ${ms(c.injector)}`,
    `                   machine ${ms(c.machine)} (both cores; ${ms(Math.max(0, c.machine - listed))} outside these: kernel, other processes)`,
    ceilingLine(c, cores),
    `     RSS at the end: serve ${mib(r.rss.serveBytes)} (peak ${mib(r.rss.servePeakBytes)}); runners ${runnerRss}`,
    startUpLine(r),
  ];
}

/**
 * What this machine can carry at most (part 3 asks for ≥ 100 events/s): its cores' CPU over the CPU
 * one echo costs, with the relay's and the injector's share as measured in the round and the host's
 * at nothing, at part 2's target and as measured; and at part 2's target without the injector (the
 * bench's own sender: on a relay the senders are elsewhere). An upper bound: it assumes both cores
 * are busy with nothing else and no wait for a disk.
 */
function ceilingLine(c: ServiceRound["cpuPerMail"], cores: number): string {
  const relayMs = c.postfix + c.dovecot;
  const withInjector = relayMs + c.injector;
  const hostMs = c.serve + c.pipeline + c.runners;
  const at = (ms: number) => (cores * 1000) / ms;
  const target = TARGETS.serviceEventsPerSecond;
  const reachable = at(relayMs + TARGETS.echoCpuMs) >= target;
  return `     this machine's ceiling (${cores} cores ÷ CPU per echo; Postfix + Dovecot + injector ${ms(withInjector)}): ${at(withInjector).toFixed(0)} events/s with a host that cost nothing, ${at(withInjector + TARGETS.echoCpuMs).toFixed(0)} at part 2's ${TARGETS.echoCpuMs} ms (${at(relayMs + TARGETS.echoCpuMs).toFixed(0)} without the injector), ${at(withInjector + hostMs).toFixed(0)} at this round's ${ms(hostMs)} (target ≥ ${target}: ${reachable ? "reachable here" : "out of reach here even at part 2's target"})`;
}

/** The round's warm-up, measured apart from its figures: what a freshly started serve pays once. */
function startUpLine(r: ServiceRound): string {
  const s = r.startUp;
  return `     start-up, not in the figures above: serve's door ${ms(s.doorReadyCpuMs)} and its pipeline ${ms(s.pipelineReadyCpuMs)} of CPU from their start to ready (a wake after a rest pays the pipeline's again); then the first ${s.mails} mails after serve started (one at a time) used ${ms(s.serveCpuMs)} of serve CPU (door + pipeline + runners), ${ms(s.aboveSteadyMs)} above ${s.mails} steady mails — the pipeline and runner processes starting, code warming; the very first took ${r.firstSingleMs === undefined ? "?" : ms(r.firstSingleMs)} spooled → reply accepted`;
}

/** Section 12: the runner walls' cost (issue 12), or why they did not run. */
export function wallsLines(w: WallsResult): string[] {
  if ("skipped" in w) return [`12. Runner walls: SKIPPED — ${w.skipped}.`];
  const row = (label: string, s: Summary) => `${label.padEnd(66)} ${stat(s)}`;
  return [
    `12. Runner walls (up: ${w.up.join(", ")}; detected in ${ms(w.detectMs)} at host start)`,
    row("    runner start to ready, plain", w.startMs.plain),
    row("    runner start to ready, walled", w.startMs.walled),
    row("    echo event (block means), plain runner", w.eventMs.plain),
    row("    echo event (block means), walled runner", w.eventMs.walled),
    `    walled / plain: ${w.eventRatio.toFixed(2)}× (target ≤ ${TARGETS.wallsEventRatio}×: ${met(w.eventRatio <= TARGETS.wallsEventRatio)}); runners are pooled, so the start cost is paid per runner, not per event`,
    row("    walled, the same bot each event (its QuickJS module reused)", w.switchMs.sameBot),
    row("    walled, two bots taking turns (memory zeroed, module anew)", w.switchMs.twoBots),
    `    a bot switch costs ≈ ${ms(w.switchMs.twoBots.median - w.switchMs.sameBot.median)} per event`,
  ];
}

/** Both sets of the per-part budget (mail-parts.ts), or why the phase did not run. */
export type MailPartsReport = { synthetic: MailPartsResult; realCore: MailPartsResult } | { skipped: string };

/** Section 14: CPU per echo, part by part, synthetic mail beside real-core mail (issue 15 part 2). */
export function mailPartsLines(report: MailPartsReport): string[] {
  if ("skipped" in report) return [`14. CPU per echo of real-core mail: SKIPPED — ${report.skipped}.`];
  const { synthetic, realCore } = report;
  const share = (x: number, sum: number) => `${((x / sum) * 100).toFixed(0).padStart(3)} %`;
  const cell = (x: number | undefined, sum: number) => (x === undefined ? "".padStart(16) : `${ms(x).padStart(9)} ${share(x, sum)}`);
  const lines = [
    `14. CPU per echo of real-core mail (target ≤ ${TARGETS.echoCpuMs} ms): each part alone, ms of CPU per mail and its share of the sum (≈: a difference of two measurements)`,
    `    ${"".padEnd(50)} ${"synthetic".padStart(16)}   ${"real core".padStart(16)}`,
    `    ${"mails in the set, mean size".padEnd(50)} ${`${synthetic.mails} × ${(synthetic.meanBytes / 1024).toFixed(1)} KiB`.padStart(16)}   ${`${realCore.mails} × ${(realCore.meanBytes / 1024).toFixed(1)} KiB`.padStart(16)}`,
  ];
  for (const p of realCore.parts) {
    const other = synthetic.parts.find((s) => s.part === p.part);
    const label = `${p.stage.padEnd(7)} ${p.derived ? "≈ " : "  "}${p.part}`;
    lines.push(`    ${label.padEnd(50)} ${cell(other?.cpuMs, synthetic.sumMs)}   ${cell(p.cpuMs, realCore.sumMs)}`);
  }
  lines.push(
    `    ${"sum".padEnd(50)} ${ms(synthetic.sumMs).padStart(9)}${"".padStart(7)}   ${ms(realCore.sumMs).padStart(9)}   (real / synthetic ${(realCore.sumMs / synthetic.sumMs).toFixed(2)}×; the target is for this sum + the runner, below)`,
    `    ${"check: planMail whole (receive + run + reply)".padEnd(50)} ${ms(synthetic.planMailMs).padStart(9)}${"".padStart(7)}   ${ms(realCore.planMailMs).padStart(9)}`,
    "    (the sum is this process only: the runner's own CPU for executor.run is the line below; Postfix, Dovecot and SMTP are in no line)",
  );
  const commit = (set: MailPartsResult) => set.parts.filter((p) => p.stage === "commit").reduce((sum, p) => sum + p.cpuMs, 0);
  lines.push(
    `    ${"of the sum: the durable writes (commit)".padEnd(50)} ${ms(commit(synthetic)).padStart(9)}${"".padStart(7)}   ${ms(commit(realCore)).padStart(9)}`,
  );
  const floor = (set: MailPartsResult) => set.sumMs + set.runnerCpuMs;
  lines.push(
    `    ${"the runner's own CPU per event (back to back)".padEnd(50)} ${ms(synthetic.runnerCpuMs).padStart(9)}${"".padStart(7)}   ${ms(realCore.runnerCpuMs).padStart(9)}`,
    `    ${"sum + runner: what an echo costs the host at least".padEnd(50)} ${ms(floor(synthetic)).padStart(9)}${"".padStart(7)}   ${ms(floor(realCore)).padStart(9)}   (target ≤ ${TARGETS.echoCpuMs} ms: ${met(floor(realCore) <= TARGETS.echoCpuMs)}; without the LMTP and SMTP conversations and the wakes between mails)`,
  );
  return lines;
}

/**
 * Section 15: the host against a resident Delta Chat bot, line by line with resident/host and
 * whether the host is ahead (lower is better on every line). `idle`: section 13's hosts, when it
 * ran, for the host's RSS per bot with many bots.
 */
export function residentLines(r: ResidentResult, idle?: IdleResult): string[] {
  if ("skipped" in r) return [`15. Host vs a resident Delta Chat bot: SKIPPED — ${r.skipped}.`];
  const row = (label: string, host: number, resident: number, unit: (x: number) => string) =>
    `    ${label.padEnd(44)} ${unit(host).padStart(10)} ${unit(resident).padStart(10)} ${times(resident / host).padStart(9)}   ${host < resident ? "yes" : "no"}`;
  const kib = (x: number) => (x >= 1024 ? mib(x * 1024) : `${x.toFixed(1)} KiB`);
  const { host, resident } = r;
  return [
    `15. Host vs a resident Delta Chat bot (deltachat-rpc-server ${r.core} + a minimal node client), same relay, one sender (core ${r.core}):`,
    `    ${r.echoes} echoes to each in alternating blocks of ${r.block} (window ${r.windowSeconds.toFixed(1)} s, set-up ${r.setupSeconds.toFixed(1)} s untimed)`,
    `    ${"".padEnd(44)} ${"host".padStart(10)} ${"resident".padStart(10)} ${"res/host".padStart(9)}   host ahead`,
    row("CPU per echo, whole tree", host.cpuMsPerEcho, resident.cpuMsPerEcho, ms),
    row("latency send → echo shown, median", host.latencyMs.median, resident.latencyMs.median, ms),
    row("latency send → echo shown, p95", host.latencyMs.p95, resident.latencyMs.p95, ms),
    row(`idle RSS, 1 bot, after ${r.idleWaitMs / 1000} s idle`, host.idleRssKiB, resident.idleRssKiB, kib),
    ...(idle
      ? [
          row(`idle RSS per bot, ${idle.many.bots} bots (host: sect. 13)`, idle.many.rssKiB / idle.many.bots, resident.idleRssKiB, kib),
          `    (that line's resident figure: each bot its own client + rpc-server, the 1-bot tree; one rpc-server holding many accounts was not measured. Host: ${(idle.perBotRssKiB * 1024).toFixed(0)} B more per further bot)`,
        ]
      : []),
    `    (host tree: serve's door, its pipeline and runner while they run, ${host.processes} processes at rest; resident tree: node client + rpc-server, ${resident.processes} processes; CPU over the whole window, both idle while the other works)`,
  ];
}
