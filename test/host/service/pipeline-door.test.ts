// The door's handling of its pipeline process (pipeline-door.ts), with fake processes: when it is
// started, what it is told, what happens after it rests or dies.
import { EventEmitter } from "node:events";
import type { ChildProcess } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HostEvent } from "../../../host/service/host-event.js";
import { PipelineDoor, type PipelineStart } from "../../../host/service/pipeline-door.js";
import type { ToDoor, ToPipeline } from "../../../host/service/pipeline-messages.js";
import { PIPELINE_RESTART_MIN_MS } from "../../../core/limits.js";

class FakeChild extends EventEmitter {
  connected = true;
  readonly got: ToPipeline[] = [];
  constructor(
    readonly pid: number,
    readonly why: PipelineStart,
  ) {
    super();
  }
  send(message: ToPipeline, callback?: (error: Error | null) => void): boolean {
    this.got.push(message);
    callback?.(null);
    return true;
  }
  kill(): boolean {
    this.exit(null, "SIGTERM");
    return true;
  }
  say(message: ToDoor): void {
    this.emit("message", message);
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    this.emit("exit", code, signal);
  }
}

describe("the door's pipeline process", () => {
  let children: FakeChild[];
  let events: HostEvent[];
  let door: PipelineDoor;
  let now: number;

  beforeEach(() => {
    vi.useFakeTimers();
    now = Date.parse("2026-12-05T10:00:00Z");
    vi.setSystemTime(now);
    children = [];
    events = [];
    door = new PipelineDoor({
      log: (event) => events.push(event),
      clock: { now: () => Date.now() },
      spawn: (why) => {
        const child = new FakeChild(1000 + children.length, why);
        children.push(child);
        return child as unknown as ChildProcess;
      },
    });
  });
  afterEach(() => vi.useRealTimers());

  async function started(): Promise<FakeChild> {
    const start = door.start();
    children[0]!.say({ t: "ready" });
    await start;
    return children[0]!;
  }

  it("writes the pipeline's events to the door's log", async () => {
    const child = await started();
    child.say({ t: "log", event: { event: "service.drained", entries: 3 } });
    expect(events).toContainEqual({ event: "service.drained", entries: 3 });
    expect(events).toContainEqual({ event: "pipeline.started", pid: 1000, why: "start" });
  });

  it("a first start that fails rejects with the pipeline's code and reason", async () => {
    const start = door.start();
    children[0]!.say({ t: "failed", code: "E_CONFIG", message: "the walls are down" });
    children[0]!.exit(70);
    await expect(start).rejects.toMatchObject({ code: "E_CONFIG", message: "the walls are down" });
  });

  it("a first start that dies without a word rejects, pointing at stderr", async () => {
    const start = door.start();
    children[0]!.exit(1);
    await expect(start).rejects.toThrow(/exited \(code 1\) before it started; its reason is on stderr/);
  });

  it("a poke goes to the running pipeline; after a rest, the next poke starts a new one", async () => {
    const child = await started();
    door.poke();
    expect(child.got).toContainEqual({ t: "poke", seq: 1 });
    child.say({ t: "rest", nextDueAt: null, pokesSeen: 1, noticesSeen: 0 });
    child.exit(0);
    expect(door.running).toBe(false);
    expect(events.at(-1)).toEqual({ event: "pipeline.rested", pid: 1000, nextDueAt: null });
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(children).toHaveLength(1); // nothing due: nothing starts
    door.poke();
    expect(children).toHaveLength(2);
    expect(children[1]!.why).toBe("poke");
  });

  it("a poke the pipeline had not seen when it rested starts the next one at once", async () => {
    const child = await started();
    door.poke(); // seq 1, seen
    door.poke(); // seq 2, sent while it was deciding to rest
    child.say({ t: "rest", nextDueAt: null, pokesSeen: 1, noticesSeen: 0 });
    child.exit(0);
    expect(children).toHaveLength(2);
    expect(children[1]!.why).toBe("poke");
  });

  it("is started again at the due time it named, also one past setTimeout's longest delay", async () => {
    const child = await started();
    const due = now + 30 * 24 * 3600_000; // 30 days: past 2^31 ms
    child.say({ t: "rest", nextDueAt: due, pokesSeen: 0, noticesSeen: 0 });
    child.exit(0);
    await vi.advanceTimersByTimeAsync(due - now - 1000);
    expect(children).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(children).toHaveLength(2);
    expect(children[1]!.why).toBe("due");
  });

  it("notices not sent before a death are handed to the next pipeline; a rest drops those it saw", async () => {
    const child = await started();
    await door.notify("author@x.test", "failing", "it keeps failing");
    expect(child.got).toContainEqual({ t: "notify", id: 1, account: "author@x.test", kind: "failing", text: "it keeps failing" });
    child.exit(null, "SIGKILL");
    expect(events.at(-1)).toMatchObject({ event: "service.error" });
    expect(String((events.at(-1) as { message: string }).message)).toMatch(/SIGKILL; started again in 1 s/);
    await vi.advanceTimersByTimeAsync(PIPELINE_RESTART_MIN_MS);
    const second = children[1]!;
    expect(second.why).toBe("restart");
    second.say({ t: "ready" });
    expect(second.got).toContainEqual({ t: "notify", id: 1, account: "author@x.test", kind: "failing", text: "it keeps failing" });
    second.say({ t: "rest", nextDueAt: null, pokesSeen: 0, noticesSeen: 1 });
    second.exit(0);
    expect(children).toHaveLength(2); // the notice was sent: nothing to start for
  });

  it("a notice while it rests starts the pipeline", async () => {
    const child = await started();
    child.say({ t: "rest", nextDueAt: null, pokesSeen: 0, noticesSeen: 0 });
    child.exit(0);
    await door.notify("author@x.test", "failing", "text");
    expect(children[1]!.why).toBe("notice");
  });

  it("deaths in a row wait twice as long each time, and pokes meanwhile do not start one early", async () => {
    await started();
    children[0]!.exit(1);
    await vi.advanceTimersByTimeAsync(1000);
    children[1]!.exit(1); // died before it was ready
    expect(String((events.at(-1) as { message: string }).message)).toMatch(/could not start: it exited with code 1; started again in 2 s/);
    door.poke();
    expect(children).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(children).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(children).toHaveLength(3);
  });

  it("stop asks the pipeline to stop and waits for its exit; nothing starts afterwards", async () => {
    const child = await started();
    const stopping = door.stop();
    expect(child.got).toContainEqual({ t: "stop" });
    child.exit(0);
    await stopping;
    door.poke();
    expect(children).toHaveLength(1);
  });

  it("a message it does not know is logged, not used", async () => {
    const child = await started();
    child.emit("message", { t: "rest", nextDueAt: "soon" });
    expect(events.at(-1)).toMatchObject({ event: "service.error" });
    expect(door.running).toBe(true);
  });
});
