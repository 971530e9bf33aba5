// No QuickJS handle, context or runtime outlives its event: events of every kind (ok, thrown,
// over each budget, with fetches answered, refused, late or never, with promises left pending) run
// through runInIsolate on the DEBUG build, and quickjs-emscripten's leak check (DUMP_LEAKS and
// LeakSanitizer) finds nothing. Replaces a 10 000-event RSS watch: this names the kind of event
// that leaked, sees a single leaked handle, and takes seconds; the RSS soak is in `make bench`.
import { beforeAll, describe, expect, it } from "vitest";
import { errors, type QuickJSRuntime } from "quickjs-emscripten-core";
import { ChatbotError } from "../../../core/errors.js";
import type { EventLimits } from "../../../core/limits.js";
import type { BridgeFetchResult } from "../../../host/executor/host-bridge.js";
import { runInIsolate, type IsolateFetch } from "../../../host/executor/isolate-run.js";
import type { ModuleSlot } from "../../../host/executor/module-slot.js";
import type { RunRequest, RunStatus } from "../../../host/executor/run-types.js";
import { processCpuClock } from "../../../host/executor/thread-cpu-clock.js";
import { createDebugSlot, type DebugSlot } from "../../support/debug-quickjs.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

const MiB = 1024 * 1024;
/** The slot's WASM memory cap: far above each event's memoryBytes, so QuickJS's own limit ends an event first and the slot stays usable. */
const WASM_MEMORY_BYTES = 512 * MiB;
/** Events of each kind: enough that a leak of one handle per event would be many, few enough for seconds at -O0. */
const EVENTS_PER_KIND = 8;

function answer(text: string): BridgeFetchResult {
  const body = new TextEncoder().encode(text);
  return {
    response: { url: "https://api.test/", status: 200, statusText: "OK", headers: [["content-type", "application/json"]], redirected: false },
    body,
    bytesIn: body.byteLength,
    bytesOut: 0,
  };
}

/** A fetch by path: /json answers now, /late after 20 ms, /refused is refused, /never only fails when the event is over. */
const fakeFetch: IsolateFetch = (req, _body, signal) => {
  const path = new URL(req.url).pathname;
  if (path === "/json") return Promise.resolve(answer('{"n":1}'));
  if (path === "/late") return new Promise((resolve) => setTimeout(() => resolve(answer('"late"')), 20));
  if (path === "/refused") return Promise.reject(new ChatbotError("E_FETCH_ORIGIN", "not on the allowlist"));
  return new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new ChatbotError("E_FETCH_FAILED", "the event is over"))));
};

interface Kind {
  name: string;
  bundle: RunRequest["bundle"];
  limits?: Partial<EventLimits>;
  status: RunStatus;
  /** The code of the error the event ends with, when it is not ok. */
  code?: string;
}

const kind = (name: string, body: string, status: RunStatus, code?: string, limits?: Partial<EventLimits>): Kind => ({
  name,
  bundle: botWithMessageHandler(body),
  status,
  ...(code ? { code } : {}),
  ...(limits ? { limits } : {}),
});

// Not here: deep recursion. The debug build's -O0 frames use up this test thread's ~1 MB stack
// before QuickJS's own 256 KiB check; in production a Worker with a larger stack runs the guest
// (sandbox-worker.ts), and hostile-bots.test.ts covers it there.
const KINDS: Kind[] = [
  kind(
    "replies, sends, logs and keeps state, with objects, closures and settled promises",
    `const junk = []; for (let i = 0; i < 200; i++) junk.push({ i, s: "x" + i, f: () => i });
     await Promise.all(junk.slice(0, 10).map(async (j) => j.i));
     await bot.state.set("n", ((await bot.state.get("n")) ?? 0) + 1); await bot.state.delete("gone");
     console.log("keys", await bot.state.keys());
     await bot.send("group:g1", "to the group"); await bot.reply("echo: " + msg.text + junk.length);`,
    "ok",
  ),
  kind("fetches and reads a JSON body", `const res = await bot.fetch("https://api.test/json"); await bot.reply(JSON.stringify(await res.json()));`, "ok"),
  kind("catches a refused fetch", `try { await bot.fetch("https://api.test/refused"); } catch (e) { await bot.reply(e.code); }`, "ok"),
  kind(
    "returns with fetches still in flight (one answers after the end, one never)",
    `bot.fetch("https://api.test/late"); bot.fetch("https://api.test/never").catch(() => {}); await bot.reply("left them");`,
    "ok",
  ),
  kind(
    "leaves a promise pending and a rejection unhandled",
    `new Promise(() => {}); Promise.reject(new Error("nobody listens")); await bot.reply("done");`,
    "ok",
  ),
  kind("is refused by the host when it calls it directly", `try { globalThis.__chatbotHost.emit("{"); } catch (e) { await bot.reply(e.message); }`, "ok"),
  kind("throws an Error", `throw new Error("boom");`, "bot-error", "E_BOT_EXCEPTION"),
  kind("throws a string", `throw "a string";`, "bot-error", "E_BOT_EXCEPTION"),
  kind("throws an object whose getters throw", `throw { get name() { throw 1; }, get message() { return "m"; } };`, "bot-error", "E_BOT_EXCEPTION"),
  kind("rejects after a settled fetch", `await bot.fetch("https://api.test/json"); throw new TypeError("after the fetch");`, "bot-error", "E_BOT_EXCEPTION"),
  kind("awaits a promise nothing can settle", `await new Promise(() => {});`, "bot-error", "E_STALLED"),
  kind("loops past its CPU budget", `for (;;) {}`, "cpu-limit", "E_LIMIT_cpuMsPerEvent", { cpuMsPerEvent: 50 }),
  kind(
    "catches its interruption in an async function and loops on",
    `const spin = async () => { for (;;) {} }; for (;;) { try { await spin(); } catch {} }`,
    "cpu-limit",
    "E_LIMIT_cpuMsPerEvent",
    { cpuMsPerEvent: 50 },
  ),
  kind("waits for a fetch past its wall budget", `await bot.fetch("https://api.test/never");`, "wall-limit", "E_LIMIT_wallMsPerEvent", { wallMsPerEvent: 100 }),
  // One allocation over QuickJS's limit: many small ones take seconds each at -O0 under LeakSanitizer.
  kind(
    "allocates more than its memory limit",
    `const bytes = new Uint8Array(16 * 1024 * 1024); await bot.reply(String(bytes.length));`,
    "memory-limit",
    "E_LIMIT_memoryBytes",
    { memoryBytes: 8 * MiB },
  ),
  kind("sends more than its action cap", `for (let i = 0; i < 5; i++) await bot.reply("r" + i);`, "output-limit", "E_LIMIT_actionsPerEvent", {
    actionsPerEvent: 3,
  }),
];

const echo = botWithMessageHandler(`await bot.reply("echo: " + msg.text);`);
const run = (slot: ModuleSlot, bundle: RunRequest["bundle"], limits: Partial<EventLimits> = {}) =>
  runInIsolate(slot, request(bundle, { limits }), fakeFetch, processCpuClock);

describe("isolate-run on the QuickJS debug build", () => {
  let slot: DebugSlot;
  beforeAll(async () => {
    slot = await createDebugSlot(WASM_MEMORY_BYTES);
  });

  it(`${KINDS.length} kinds of event, ${EVENTS_PER_KIND} of each, free every handle, context and runtime they made`, { timeout: 180_000 }, async () => {
    for (const { name, bundle, limits, status, code } of KINDS) {
      for (let i = 0; i < EVENTS_PER_KIND; i++) {
        const { result, slotHealthy, resetReason } = await run(slot, bundle, limits);
        expect(result.status, `${name}: ${result.error?.message}`).toBe(status);
        if (code) expect(result.error?.code, name).toBe(code);
        expect(slotHealthy, `${name}: ${resetReason}`).toBe(true);
      }
      expect(() => slot.assertNoMemoryAllocated(), `after events that ${name}`).not.toThrow();
    }
    expect(slot.runtimes).toHaveLength(KINDS.length * EVENTS_PER_KIND);
  });
});

describe("the leak check can fail", () => {
  // A fresh module: a leak stays in a module's memory for good, and would fail every later check.
  let slot: DebugSlot;
  beforeAll(async () => {
    slot = await createDebugSlot(WASM_MEMORY_BYTES);
  });

  /** `slot` whose runtimes get `change`d as they are made (test-only; runInIsolate is unchanged). */
  const altered = (change: (runtime: QuickJSRuntime) => void): ModuleSlot => ({
    ...slot,
    module: {
      newRuntime: (options) => {
        const runtime = slot.module.newRuntime(options);
        change(runtime);
        return runtime;
      },
    },
  });

  it("a runtime that is never freed is reported, and passes once it is", async () => {
    let freeLater: (() => void) | undefined;
    const neverFreed = altered((runtime) => {
      freeLater = runtime.dispose.bind(runtime);
      runtime.dispose = () => undefined; // the isolate's dispose call does nothing
    });
    const outcome = await run(neverFreed, echo);
    expect(outcome.result.status).toBe("ok");
    expect(() => slot.assertNoMemoryAllocated()).toThrow(new errors.QuickJSMemoryLeakDetected("1 runtimes leaked"));
    freeLater!();
    expect(() => slot.assertNoMemoryAllocated()).not.toThrow();
  });

  it("one handle leaked in an event's context fails the check", async () => {
    const leaky = altered((runtime) => {
      const newContext = runtime.newContext.bind(runtime);
      runtime.newContext = (options) => {
        const ctx = newContext(options);
        ctx.newString("deliberately leaked"); // never disposed
        return ctx;
      };
    });
    const outcome = await run(leaky, echo);
    expect(outcome.result.status).toBe("ok");
    // A leaked string does not stop JS_FreeRuntime (a leaked object would abort it): the runtime
    // is freed, the slot looks healthy, and only the leak check sees it.
    expect(outcome.slotHealthy).toBe(true);
    expect(() => slot.assertNoMemoryAllocated()).toThrow(errors.QuickJSMemoryLeakDetected);
    expect(() => slot.assertNoMemoryAllocated()).toThrow(/deliberately leaked/);
  });
});
