// The pipeline's loaded bots (issue 15 part 1, bot-registry.ts): two rounds of one mail to each of
// BOTS echo bots (copies of one installed bot's folder, as an operator's `cp -r` would make), drained
// by a host service in this process, three ways — with the host's cap (core/limits.ts LOADED_BOTS),
// with no cap, and with a cap of 1 — and prints for each the bots loaded at the end, the evictions
// and CPU per mail in the second round, and the heap after a full GC against before the first. In
// the second round every bot is loaded again under a cap below BOTS, and none is with no cap: the
// gap in CPU per mail is the cost of a load; the heap with no cap, per bot, is what a loaded bot holds.
// Run with: npx vite-node test/bench/loaded-bots-only.ts [BOTS]   (node --expose-gc is set below)
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Executor } from "../../host/executor/executor.js";
import { LOADED_BOTS, MAIL_MAX_BYTES, type LoadedBotsLimits } from "../../core/limits.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { runBench } from "./run-bench.js";
import { burstSettings, partBenchService } from "./part-bench-service.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function measure(bots: number, loadedBots: Readonly<LoadedBotsLimits>, executor: Executor) {
  const work = mkdtempSync(join(tmpdir(), "loaded-bots-"));
  try {
    const data = await initHost(work, burstSettings());
    await installBot(work, data, { addr: "bot0@chat.test" });
    const addrs = Array.from({ length: bots }, (_, i) => `bot${i}@chat.test`);
    for (const addr of addrs.slice(1)) cpSync(join(data, "bots", addrs[0]!), join(data, "bots", addr), { recursive: true });
    let accepted = 0;
    let evictions = 0;
    const { service, spool } = await partBenchService(data, executor, {
      loadedBots,
      onSubmit: () => void (accepted += 1),
      log: (event) => {
        if (event.event === "bots.evicted") evictions += event.count;
      },
    });
    // Every copy has the same key: mails to each bot, encrypted to it, a round at a time.
    const key = (await service.bot(addrs[0]!))!.bot.account.identity.publicKey;
    const alice = await newIdentity("alice@chat.test");
    const round = async (n: number) => {
      for (const addr of addrs) {
        const { raw } = await userMail({
          from: "alice@chat.test",
          to: addr,
          recipientKey: key,
          signer: alice,
          body: { kind: "text", text: `${n} to ${addr}` },
        });
        await spool.write(addr, raw, MAIL_MAX_BYTES);
      }
      while ((await spool.all()).length > 0) await service.drainOnce();
    };
    // The first round is every bot's first event (a load whatever the cap); the second is measured.
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    await round(1);
    evictions = 0;
    const cpu0 = process.cpuUsage();
    await round(2);
    const cpu = process.cpuUsage(cpu0);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const loaded = service.loadedBots();
    await service.stop();
    if (accepted !== 2 * bots) throw new Error(`accepted ${accepted} of ${2 * bots}`);
    return { loaded: loaded.bots, evictions, heapMiB: (heapAfter - heapBefore) / 1024 / 1024, cpuMsPerMail: (cpu.user + cpu.system) / 1000 / bots };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const bots = Number(process.argv[2] ?? 300);
  const executor = new Executor({ concurrency: 1 });
  await executor.warmUp();
  try {
    const ways: Array<[string, Readonly<LoadedBotsLimits>]> = [
      [`the host's cap (${LOADED_BOTS.maxBots} bots)`, LOADED_BOTS],
      ["no cap", { ...LOADED_BOTS, maxBots: Number.MAX_SAFE_INTEGER, maxBundleChars: Number.MAX_SAFE_INTEGER }],
      ["cap 1 (every event loads)", { ...LOADED_BOTS, maxBots: 1 }],
    ];
    // A first round warms the code; then each way twice, interleaved.
    await measure(Math.min(bots, 30), LOADED_BOTS, executor);
    for (let round = 1; round <= 2; round++) {
      for (const [name, limits] of ways) {
        const r = await measure(bots, limits, executor);
        process.stdout.write(
          `${name.padEnd(28)} ${bots} bots: loaded at the end ${r.loaded}, evicted ${r.evictions} in round 2, heap +${r.heapMiB.toFixed(1)} MiB (${((r.heapMiB * 1024) / Math.max(1, r.loaded)).toFixed(0)} KiB per loaded bot), round 2 CPU ${r.cpuMsPerMail.toFixed(2)} ms/mail\n`,
        );
      }
    }
  } finally {
    await executor.close();
  }
}

runBench(main);
