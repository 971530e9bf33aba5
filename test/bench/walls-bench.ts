// Phase 12: what the runner walls of issue 12 cost. Runner start (new Executor → "ready") plain
// and walled, alternating; the echo event through a plain and a walled executor, in alternating
// blocks so machine load hits both alike (the goal: walled within 10 % of plain, which
// pooled runners should meet); and a bot switch (another bot's event gets a fresh QuickJS module).
import { performance } from "node:perf_hooks";
import type { WallDetection } from "../../host/confine/detect-walls.js";
import { detectWalls } from "../../host/confine/detect-walls.js";
import { confinedLauncher, plainLauncher, type RunnerLauncher } from "../../host/confine/runner-launcher.js";
import { confinesRunners } from "../../host/confine/runner-walls.js";
import { packageRoot } from "../../bundler/package-root.js";
import { Executor } from "../../host/executor/executor.js";
import type { RunRequest } from "../../host/executor/run-types.js";
import { expectEcho } from "./executor-bench.js";
import { summarize, type Summary } from "./stats.js";

export interface WallsBudget {
  /** Runner starts of each kind. */
  starts: number;
  /** Alternating blocks of `blockEvents` echo events on each executor. */
  blocks: number;
  blockEvents: number;
}

export type WallsResult =
  | { skipped: string }
  | {
      up: string[];
      detectMs: number;
      startMs: { plain: Summary; walled: Summary };
      /** Per echo event, ms: the medians of each block's mean. */
      eventMs: { plain: Summary; walled: Summary };
      /** walled / plain, medians. */
      eventRatio: number;
      /** Walled, per event, ms: the same bot every time, and two bots taking turns. */
      switchMs: { sameBot: Summary; twoBots: Summary };
    };

/** Mean ms per event of `n` events. */
async function block(executor: Executor, request: RunRequest, n: number, reply: string): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) expectEcho(await executor.run(request), reply, "walls bench echo");
  return (performance.now() - start) / n;
}

async function startTime(launcher: RunnerLauncher): Promise<number> {
  const executor = new Executor({ launcher });
  const start = performance.now();
  await executor.warmUp();
  const elapsed = performance.now() - start;
  await executor.close();
  return elapsed;
}

export async function measureWalls(echo: RunRequest, reply: string, budget: WallsBudget): Promise<WallsResult> {
  const detectStart = performance.now();
  const detection: WallDetection = await detectWalls();
  const detectMs = performance.now() - detectStart;
  const up = detection.reports.filter((r) => r.up).map((r) => r.layer);
  if (!confinesRunners(detection)) return { skipped: `no walls here: ${detection.combined.why}` };
  const walled = confinedLauncher(detection.setup, { projectRoot: packageRoot() });
  try {
    const plainStarts: number[] = [];
    const walledStarts: number[] = [];
    for (let i = 0; i < budget.starts; i++) {
      plainStarts.push(await startTime(plainLauncher));
      walledStarts.push(await startTime(walled));
    }

    const plain = new Executor({ launcher: plainLauncher });
    const confined = new Executor({ launcher: walled });
    try {
      await Promise.all([plain.warmUp(), confined.warmUp()]);
      await block(plain, echo, 50, reply);
      await block(confined, echo, 50, reply);
      const plainBlocks: number[] = [];
      const walledBlocks: number[] = [];
      for (let i = 0; i < budget.blocks; i++) {
        plainBlocks.push(await block(plain, echo, budget.blockEvents, reply));
        walledBlocks.push(await block(confined, echo, budget.blockEvents, reply));
      }
      const other: RunRequest = { ...echo, messageIds: { ...echo.messageIds, botAddr: `other-${echo.messageIds.botAddr}` } };
      const same: number[] = [];
      const two: number[] = [];
      for (let i = 0; i < budget.blocks; i++) {
        same.push(await block(confined, echo, budget.blockEvents, reply));
        const start = performance.now();
        for (let j = 0; j < budget.blockEvents; j++) expectEcho(await confined.run(j % 2 === 0 ? other : echo), reply, "walls bench switch");
        two.push((performance.now() - start) / budget.blockEvents);
      }
      const eventMs = { plain: summarize(plainBlocks), walled: summarize(walledBlocks) };
      return {
        up,
        detectMs,
        startMs: { plain: summarize(plainStarts), walled: summarize(walledStarts) },
        eventMs,
        eventRatio: eventMs.walled.median / eventMs.plain.median,
        switchMs: { sameBot: summarize(same), twoBots: summarize(two) },
      };
    } finally {
      await Promise.all([plain.close(), confined.close()]);
    }
  } finally {
    walled.close();
  }
}
