// Section 16 of `make bench` (issue 15 part 1: "per-bot data is loaded on a bot's first event and
// evicted when idle, bounded caches, counted in the bench"): the pipeline's loaded bots
// (bot-registry.ts). BOTS echo bots (copies of one installed bot's folder, as an operator's `cp -r`
// makes them) get two rounds of one mail each, drained by a host service in this process, three
// ways — under the host's cap (core/limits.ts LOADED_BOTS), with no cap, and with a cap of 1 — and
// then a few bots are left idle past a shortened idle time to show they go. Per way: the bots loaded
// at the end, the evictions and CPU per mail in the second round, and the heap after a full
// collection against before the first round. Under a cap below BOTS every bot is loaded again in the
// second round and none is with no cap: the gap in CPU per mail is what a load costs; the heap with
// no cap, per bot, is what a loaded bot holds.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Executor } from "../../host/executor/executor.js";
import { LOADED_BOTS, MAIL_MAX_BYTES, type LoadedBotsLimits } from "../../core/limits.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { burstSettings, partBenchService } from "./part-bench-service.js";

/** One way's figures. */
export interface LoadedBotsRun {
  way: string;
  limits: LoadedBotsLimits;
  /** Bots loaded after the second round. */
  loadedAtEnd: number;
  /** Evictions during the second round (bots.evicted counts). */
  evictedInRound2: number;
  /** Heap after the rounds and a full collection, over before them, MiB. */
  heapAddedMiB: number;
  /** That heap per bot loaded at the end, KiB. */
  heapPerLoadedBotKiB: number;
  /** This process's CPU per mail of the second round (spooling it and the pipeline's work, the runner apart), ms. */
  round2CpuMsPerMail: number;
}

/** The idle check: bots loaded by one round, then left alone past `idleMs`. */
export interface LoadedBotsIdle {
  bots: number;
  idleMs: number;
  loadedAfterRound: number;
  /** Loaded after the idle time and one pass of the drain loop with nothing to do. */
  loadedAfterIdle: number;
  /** bots.evicted counts with why "idle". */
  evictedIdle: number;
}

export interface LoadedBotsResult {
  bots: number;
  hostCap: LoadedBotsLimits;
  runs: LoadedBotsRun[];
  idle: LoadedBotsIdle;
}

/** Full collections on demand: the heap figures are after one. */
function exposedGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

interface Drive {
  /** One mail to every bot, then drain the spool; `cpu.ms` gets this process's CPU for spooling and draining them. */
  round: (n: number, cpu?: { ms: number }) => Promise<void>;
  evictions: { count: number; idle: number };
  accepted: () => number;
  service: Awaited<ReturnType<typeof partBenchService>>["service"];
}

/** A host in a fresh folder with `bots` copies of one echo bot, its service under `limits`; `use` runs with it. */
async function withBots<T>(bots: number, limits: Readonly<LoadedBotsLimits>, executor: Executor, use: (drive: Drive) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), "loaded-bots-"));
  try {
    const data = await initHost(work, burstSettings());
    await installBot(work, data, { addr: "bot0@chat.test" });
    const addrs = Array.from({ length: bots }, (_, i) => `bot${i}@chat.test`);
    for (const addr of addrs.slice(1)) cpSync(join(data, "bots", addrs[0]!), join(data, "bots", addr), { recursive: true });
    let accepted = 0;
    const evictions = { count: 0, idle: 0 };
    const { service, spool } = await partBenchService(data, executor, {
      loadedBots: limits,
      onSubmit: () => void (accepted += 1),
      log: (event) => {
        if (event.event !== "bots.evicted") return;
        evictions.count += event.count;
        if (event.why === "idle") evictions.idle += event.count;
      },
    });
    try {
      // Every copy has the same key: mails to each bot, encrypted to it.
      const key = (await service.bot(addrs[0]!))!.bot.account.identity.publicKey;
      const alice = await newIdentity("alice@chat.test");
      // The mails are written before the round starts: their composing (the sender's side) is not counted.
      const round = async (n: number, cpu?: { ms: number }) => {
        const mails: Array<[string, Uint8Array]> = [];
        for (const addr of addrs) {
          const body = { kind: "text" as const, text: `${n} to ${addr}` };
          mails.push([addr, (await userMail({ from: "alice@chat.test", to: addr, recipientKey: key, signer: alice, body })).raw]);
        }
        const start = process.cpuUsage();
        for (const [addr, raw] of mails) await spool.write(addr, raw, MAIL_MAX_BYTES);
        while ((await spool.all()).length > 0) await service.drainOnce();
        const used = process.cpuUsage(start);
        if (cpu) cpu.ms = (used.user + used.system) / 1000;
      };
      return await use({ round, evictions, accepted: () => accepted, service });
    } finally {
      await service.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measureWay(way: string, bots: number, limits: Readonly<LoadedBotsLimits>, executor: Executor, gc: () => void): Promise<LoadedBotsRun> {
  return withBots(bots, limits, executor, async ({ round, evictions, accepted, service }) => {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    // The first round is every bot's first event (a load whatever the cap); the second is measured.
    await round(1);
    evictions.count = 0;
    const cpu = { ms: 0 };
    await round(2, cpu);
    gc();
    const heapAddedMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    const loadedAtEnd = service.loadedBots().bots;
    if (accepted() !== 2 * bots) throw new Error(`loaded-bots bench (${way}): ${accepted()} mails sent of ${2 * bots}`);
    return {
      way,
      limits: { ...limits },
      loadedAtEnd,
      evictedInRound2: evictions.count,
      heapAddedMiB,
      heapPerLoadedBotKiB: (heapAddedMiB * 1024) / Math.max(1, loadedAtEnd),
      round2CpuMsPerMail: cpu.ms / bots,
    };
  });
}

/** Bots loaded by a round, then idle past `idleMs`: a pass of the drain loop with nothing to do evicts them. */
async function measureIdle(bots: number, idleMs: number, executor: Executor): Promise<LoadedBotsIdle> {
  const limits = { ...LOADED_BOTS, idleMs };
  return withBots(bots, limits, executor, async ({ round, evictions, service }) => {
    await round(1);
    const loadedAfterRound = service.loadedBots().bots;
    await new Promise((resolve) => setTimeout(resolve, idleMs + 200));
    await service.drainOnce();
    return { bots, idleMs, loadedAfterRound, loadedAfterIdle: service.loadedBots().bots, evictedIdle: evictions.idle };
  });
}

/**
 * The three ways, `repeats` times interleaved (the machine's load moves between runs), after a
 * warm-up round of 30 bots; then the idle check with 20 bots and a 1 s idle time.
 */
export async function measureLoadedBots(bots: number, repeats = 1): Promise<LoadedBotsResult> {
  const gc = exposedGc();
  const executor = new Executor({ concurrency: 1 });
  await executor.warmUp();
  try {
    const ways: Array<[string, Readonly<LoadedBotsLimits>]> = [
      [`the host's cap (${LOADED_BOTS.maxBots} bots)`, LOADED_BOTS],
      ["no cap", { ...LOADED_BOTS, maxBots: Number.MAX_SAFE_INTEGER, maxBundleChars: Number.MAX_SAFE_INTEGER }],
      ["cap 1 (every event loads)", { ...LOADED_BOTS, maxBots: 1 }],
    ];
    await measureWay("warm-up", Math.min(bots, 30), LOADED_BOTS, executor, gc);
    const runs: LoadedBotsRun[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) for (const [way, limits] of ways) runs.push(await measureWay(way, bots, limits, executor, gc));
    const idle = await measureIdle(Math.min(bots, 20), 1000, executor);
    return { bots, hostCap: { ...LOADED_BOTS }, runs, idle };
  } finally {
    await executor.close();
  }
}
