// Issue 15, part 1: what installed bots cost `host serve` while nothing happens. One host with 1
// echo bot and one with MANY copies of it (its folder copied under other addresses, as an operator
// would try it), each `host serve` started alone and left idle: its start time to service.started,
// then, after a settle (the start's own work and garbage), its whole process tree's CPU over a
// quiet window and its RSS at the end. The 1-bot host is
// the baseline of the same run; the report gives the difference per bot. The IMAP server is a
// closed port on 127.0.0.1 (a login fails at once): what is measured is the host's own work.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnServe } from "../support/serve-process.js";
import { processTree, treeCpuMs } from "./proc.js";
import { processRss } from "./stats.js";
import { PIPELINE_REST_AFTER_MS, RUNNER_IDLE_STOP_MS } from "../../core/limits.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));

export interface IdleHost {
  bots: number;
  /** spawn → service.started, ms. */
  startMs: number;
  /** Whole tree's CPU per second of the quiet window, ms. */
  cpuMsPerS: number;
  /** Whole tree's RSS at the end, KiB. */
  rssKiB: number;
}

export interface IdleResult {
  one: IdleHost;
  many: IdleHost;
  /** (many − one) / (bots − 1). */
  perBotRssKiB: number;
  perBotCpuMsPerS: number;
  windowMs: number;
}

/** RSS of `pid`'s whole tree, KiB. */
export function treeRssKiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      kib += processRss(p).rssBytes / 1024;
    } catch {
      // exited meanwhile
    }
  }
  return kib;
}

function cli(args: string[], cwd: string): void {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`chatbot ${args.join(" ")}: ${result.stderr}`);
}

/** A data dir with `bots` echo bots (one installed, the rest copies of its folder), IMAP on a closed port. */
function hostWith(work: string, bots: number): string {
  const data = join(work, `data-${bots}`);
  cli(["host", "init", "--data-dir", data, "--lmtp-socket", join(work, `lmtp-${bots}.sock`), "--imap-port", "9", "--smtp-port", "9"], work);
  cli(["host", "install", "bot0@bench.test", "echo", "--password-file", "pw", "--data-dir", data], work);
  // As on a relay in its steady state: every bot's account was logged in to a minute ago (a host
  // back from a long outage first logs in to each, DEPLOY_LOGINS_PER_SECOND at a time).
  const checked = Date.now() - 60_000;
  writeFileSync(
    join(data, "bots", "bot0@bench.test", "account.json"),
    JSON.stringify({ lastCheckAt: checked, lastLoginAt: checked, lastRefreshLoggedAt: checked }),
  );
  for (let i = 1; i < bots; i++) cpSync(join(data, "bots", "bot0@bench.test"), join(data, "bots", `bot${i}@bench.test`), { recursive: true });
  return data;
}

async function measureHost(data: string, bots: number, settleMs: number, windowMs: number): Promise<IdleHost> {
  const started = Date.now();
  const serve = spawnServe(data);
  try {
    await serve.started(120_000);
    const startMs = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const pid = serve.child.pid!;
    const before = treeCpuMs(pid);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const cpuMsPerS = (treeCpuMs(pid) - before) / (windowMs / 1000);
    return { bots, startMs, cpuMsPerS, rssKiB: treeRssKiB(pid) };
  } finally {
    await serve.stop();
  }
}

/** Both hosts, one after the other; `many` bots in the second. */
/**
 * The settle before the window, ms: past RUNNER_IDLE_STOP_MS and the pipeline's rest
 * (PIPELINE_REST_AFTER_MS after its start-up work, its state copies' first scan, a rest check), so
 * the runner and the pipeline process a host starts with have exited (as on a host at rest) before
 * CPU is counted. A process that exits inside the window moves its whole life's CPU into the tree's
 * sum (its parent's reaped-children fields) or out of it: with 10 000 bots a pipeline resting inside
 * the window read as 8.2 ms/s.
 */
export const IDLE_SETTLE_MS = Math.max(RUNNER_IDLE_STOP_MS, PIPELINE_REST_AFTER_MS) + 25_000;

export async function measureIdle(many: number, settleMs = IDLE_SETTLE_MS, windowMs = 65_000): Promise<IdleResult> {
  const work = mkdtempSync(join(tmpdir(), "idle-bench-"));
  try {
    cli(["new", "echo", "--name", "echo"], work);
    cli(["build", "echo"], work);
    writeFileSync(join(work, "pw"), "bench-bot-password\n");
    const one = await measureHost(hostWith(work, 1), 1, settleMs, windowMs);
    const manyHost = await measureHost(hostWith(work, many), many, settleMs, windowMs);
    return {
      one,
      many: manyHost,
      perBotRssKiB: (manyHost.rssKiB - one.rssKiB) / (many - 1),
      perBotCpuMsPerS: (manyHost.cpuMsPerS - one.cpuMsPerS) / (many - 1),
      windowMs,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
