// Runners as `host serve` starts them (issue 12): openRunnerWalls detects and logs the walls, the
// executor spawns its runners through the confined launcher, and a bot runs behind them. The
// runner's node process is looked at from outside (/proc): its uid, its network namespace and
// its filesystem. A layer found down is named and its assertion skipped, never faked.
import { readdirSync, readFileSync, readlinkSync, existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileQuickJSWasm, createModuleSlot, recycleModuleSlot } from "../../../host/executor/module-slot.js";
import { detectWalls, type WallDetection } from "../../../host/confine/detect-walls.js";
import { missingWalls, openRunnerWalls } from "../../../host/confine/runner-walls.js";
import type { RunnerLauncher } from "../../../host/confine/runner-launcher.js";
import { RUNNER_UIDS } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import type { HostEvent, HostEventOf } from "../../../host/service/host-event.js";
import { isChatbotError } from "../../../core/errors.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

const echo = botWithMessageHandler(`await bot.reply("echo: " + msg.text);`);
let detection: WallDetection;
let launcher: RunnerLauncher;
let executor: Executor;
let wallsLine: HostEventOf<"runner.walls"> | undefined;
const up = (layer: string) => detection.reports.find((r) => r.layer === layer)?.up === true;

/** The pids of `pid`'s descendants (children first), from /proc/<pid>/task/<pid>/children. */
function descendants(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  const children = readFileSync(file, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** The runner's node process of `of`: the descendant (or the runner itself) whose command is node. */
function runnerNode(of: Executor = executor): number {
  const [wrapper] = of.runnerPids();
  const pid = [wrapper!, ...descendants(wrapper!)].find(
    (p) =>
      readFileSync(`/proc/${p}/cmdline`, "utf8")
        .split("\0")
        .some((arg) => arg.endsWith("runner-process.js")) && readlinkSync(`/proc/${p}/exe`) === process.execPath,
  );
  if (pid === undefined) throw new Error(`no node process under runner ${wrapper}`);
  return pid;
}

/** The uid a process runs as (/proc/PID/status). */
function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

beforeAll(async () => {
  detection = await detectWalls();
  const events: HostEvent[] = [];
  launcher = await openRunnerWalls([], (event) => events.push(event));
  wallsLine = events.find((e): e is HostEventOf<"runner.walls"> => e.event === "runner.walls");
  executor = new Executor({ launcher });
  await executor.warmUp();
  console.log(`confined-runner: ${detection.reports.map((r) => `${r.layer} ${r.up ? "up" : `DOWN (${r.why})`}`).join("; ")}`);
}, 120_000);

afterAll(async () => {
  await executor?.close();
  launcher?.close();
});

describe("confined runners (host serve's executor)", () => {
  it("logs one runner.walls line that lists every layer up or down, with the fix for each one down", () => {
    expect(wallsLine).toBeDefined();
    expect([...wallsLine!.up, ...wallsLine!.down.map((d) => d.layer)].sort()).toEqual(detection.reports.map((r) => r.layer).sort());
    for (const down of wallsLine!.down) expect(down.fix, `${down.layer} is down: the line says how to bring it up`).not.toBe("");
    expect(wallsLine!.confined).toBe(detection.combined.ok && detection.reports.some((r) => r.up && r.layer !== "cgroup"));
    expect(launcher.confined).toBe(wallsLine!.confined);
  });

  it("a bot runs and answers behind the walls; its runner's node has its own uid, no network of the host's and no view of /etc or the data", async () => {
    const result = await executor.run(request(echo));
    expect(result.status).toBe("ok");
    expect(result.actions).toEqual([expect.objectContaining({ type: "reply", text: "echo: hello" })]);
    if (!launcher.confined) return;
    const node = runnerNode();
    const uid = uidOf(node);
    if (up("identity") && detection.setup.identity.kind === "uid") {
      expect(uid).toBeGreaterThanOrEqual(RUNNER_UIDS.first);
      expect(uid).toBeLessThan(RUNNER_UIDS.first + RUNNER_UIDS.count);
    }
    if (up("identity")) expect(/^NoNewPrivs:\s+1$/m.test(readFileSync(`/proc/${node}/status`, "utf8"))).toBe(true);
    if (up("network")) expect(readlinkSync(`/proc/${node}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));
    if (up("filesystem") && process.getuid?.() === 0) {
      // Its root, seen from outside: the files node needs, not /etc/passwd, not home dirs.
      const root = `/proc/${node}/root`;
      expect(existsSync(`${root}/etc/passwd`)).toBe(false);
      expect(existsSync(`${root}${process.execPath}`)).toBe(true);
      expect(readdirSync(root).sort()).not.toContain("home");
    }
    if (up("resources")) {
      const limits = readFileSync(`/proc/${node}/limits`, "utf8");
      expect(limits).toMatch(/Max address space\s+34359738368\s+34359738368/);
      expect(limits).toMatch(/Max processes\s+24\s+24/);
      expect(limits).toMatch(/Max core file size\s+0\s+0/);
    }
  });

  it("each runner start gets a uid of its own (a killed runner still exiting never shares its task count with its successor)", async () => {
    if (!launcher.confined || detection.setup.identity.kind !== "uid") return;
    const second = new Executor({ launcher });
    try {
      await second.warmUp();
      const node = runnerNode(second);
      expect(uidOf(node)).not.toBe(uidOf(runnerNode()));
      expect(uidOf(node)).toBeGreaterThanOrEqual(RUNNER_UIDS.first);
    } finally {
      await second.close();
    }
  });

  it("runners of two launchers (two host processes on one machine) do not share a uid: each draws its own", async () => {
    if (!launcher.confined || detection.setup.identity.kind !== "uid") return;
    // Before: each launcher counted from RUNNER_UIDS.first, so the first runner of every host
    // process had the same uid and they shared its RLIMIT_NPROC (a runner failed with EAGAIN).
    const launchers = await Promise.all([openRunnerWalls([], () => {}), openRunnerWalls([], () => {})]);
    const executors = launchers.map((each) => new Executor({ launcher: each }));
    try {
      const uids = await Promise.all(
        executors.map(async (each) => {
          await each.warmUp();
          return uidOf(runnerNode(each));
        }),
      );
      expect(uids[0]).not.toBe(uids[1]);
      for (const uid of uids) {
        expect(uid).toBeGreaterThanOrEqual(RUNNER_UIDS.first);
        expect(uid).toBeLessThan(RUNNER_UIDS.first + RUNNER_UIDS.count);
      }
    } finally {
      await Promise.all(executors.map((each) => each.close()));
      for (const each of launchers) each.close();
    }
  });

  it("another bot's event gets a fresh QuickJS module; the same bot's next event reuses its own", async () => {
    const other = { botAddr: "other@example.org", eventKey: "<o1@example.org>" };
    await executor.run(request(echo));
    const before = executor.stats.modulesBuilt;
    await executor.run(request(echo)); // same bot: reused
    expect(executor.stats.modulesBuilt).toBe(before);
    await executor.run(request(echo, { messageIds: other })); // another bot: fresh
    await executor.run(request(echo)); // back: fresh again
    expect(executor.stats.modulesBuilt).toBe(before + 2);
  });
});

describe("why a bot switch needs a fresh module", () => {
  it("a freed runtime leaves its strings in the module's memory; a new or recycled slot's memory has none of them", async () => {
    const wasm = compileQuickJSWasm();
    const slot = await createModuleSlot(wasm, 32 * 1024 * 1024);
    const secret = "SECRET-of-bot-A-7f3c9e";
    const runtime = slot.module.newRuntime();
    const context = runtime.newContext();
    context.evalCode(`globalThis.kept = ${JSON.stringify(secret)}.repeat(64);`).dispose();
    context.dispose();
    runtime.dispose();
    const contains = (memory: WebAssembly.Memory) => Buffer.from(memory.buffer).includes(secret);
    expect(contains(slot.memory), "the bytes outlive the runtime").toBe(true);
    const fresh = await createModuleSlot(wasm, 32 * 1024 * 1024);
    expect(contains(fresh.memory)).toBe(false);
    // What a bot switch does: the same memory, zeroed, under a new module instance that works.
    const recycled = await recycleModuleSlot(wasm, slot);
    expect(recycled.memory).toBe(slot.memory);
    expect(contains(recycled.memory)).toBe(false);
    const next = recycled.module.newRuntime();
    const nextContext = next.newContext();
    expect(nextContext.dump(nextContext.unwrapResult(nextContext.evalCode("typeof kept + ':' + (6 * 7)")))).toBe("undefined:42");
    nextContext.dispose();
    next.dispose();
  });
});

describe("requireWalls", () => {
  it("a required layer that is down stops the start with the layer, why and the fix; one that is up passes", async () => {
    const down = detection.reports.find((r) => !r.up);
    const upLayer = detection.reports.find((r) => r.up);
    if (upLayer && detection.combined.ok) expect(missingWalls(detection, [upLayer.layer])).toEqual([]);
    if (!down) return;
    expect(missingWalls(detection, "all")).toContain(down.layer);
    const failure = await openRunnerWalls([down.layer], () => undefined).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isChatbotError(failure) && failure.code).toBe("E_CONFIG");
    expect(String((failure as Error).message)).toContain(`${down.layer}: ${down.why}`);
    expect(String((failure as Error).message)).toContain("chatbot host doctor");
  });
});
