// The CPU clock that meters guest code: CPU time of the calling thread only. The guest runs on one
// thread (the sandbox Worker's); process-wide CPU time (process.cpuUsage) also counts V8's other
// threads (WASM tier-up compilation, GC helpers) and charged a bot 1002 ms of CPU in 812 ms of
// wall time (issue 9). Node 20 has no per-thread CPU API (process.threadCpuUsage is Node 23.9+),
// but its WASI (uvwasi) answers clock_time_get(THREAD_CPUTIME_ID) with
// clock_gettime(CLOCK_THREAD_CPUTIME_ID): exact to the ns, ~1.8 µs a call on this machine.
// Measured and not used: /proc/thread-self/schedstat costs ~2.9 µs a pread and, while the thread
// runs, advances only at scheduler ticks (4 ms steps here): too coarse for a 50 ms budget.
import { createRequire } from "node:module";

/** Milliseconds of CPU time; only differences between two readings on the same thread mean anything. */
export type CpuClock = () => number;

/** CPU time of the whole process (every thread), ms: the fallback where WASI's thread clock is missing. */
export const processCpuClock: CpuClock = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

const WASI_CLOCK_THREAD_CPUTIME_ID = 3;

/**
 * A WebAssembly module (hand-assembled, 112 bytes) equivalent to:
 *   (import "wasi_snapshot_preview1" "clock_time_get" (func $get (param i32 i64 i32) (result i32)))
 *   (memory (export "memory") 1)
 *   (func (export "now") (result i64)
 *     (drop (call $get (i32.const 3) (i64.const 1) (i32.const 0)))  ;; thread CPU time, ns, into memory[0..8)
 *     (i64.load (i32.const 0)))
 */
function clockModuleBytes(): Uint8Array {
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n) byte |= 0x80;
      out.push(byte);
    } while (n);
    return out;
  };
  const name = (text: string) => [...leb(text.length), ...Buffer.from(text, "latin1")];
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const [I32, I64, FUNC] = [0x7f, 0x7e, 0x60];
  const body = [0, 0x41, WASI_CLOCK_THREAD_CPUTIME_ID, 0x42, 1, 0x41, 0, 0x10, 0, 0x1a, 0x41, 0, 0x29, 3, 0, 0x0b];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0], // "\0asm", version 1
    ...section(1, [2, FUNC, 3, I32, I64, I32, 1, I32, FUNC, 0, 1, I64]), // types: $get, now
    ...section(2, [1, ...name("wasi_snapshot_preview1"), ...name("clock_time_get"), 0, 0]), // import $get
    ...section(3, [1, 1]), // one function of type 1
    ...section(5, [1, 0, 1]), // one memory, 1 page
    ...section(7, [2, ...name("memory"), 2, 0, ...name("now"), 0, 1]), // exports
    ...section(10, [1, ...leb(body.length), ...body]), // code of `now`
  ]);
}

/**
 * node:wasi, loaded without its one-time "WASI is an experimental feature" warning, which would
 * otherwise reach the runner's stderr (a relay's journal) and every test's output. Loaded here,
 * not imported, so that importing this module alone loads nothing.
 */
function loadWasi(): typeof import("node:wasi") {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    return createRequire(import.meta.url)("node:wasi") as typeof import("node:wasi");
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * A clock of the CPU time of the thread that calls this (call it on the thread that runs guest
 * code, once: it instantiates a small WASM module). Falls back to the process clock.
 */
export function threadCpuClock(): CpuClock {
  try {
    const { WASI } = loadWasi();
    const wasi = new WASI({ version: "preview1" });
    // @types/node 20 declares WebAssembly.Module and Memory but not Instance (a DOM-lib type).
    const { Instance } = WebAssembly as unknown as { Instance: new (module: WebAssembly.Module, imports: object) => { exports: Record<string, unknown> } };
    const instance = new Instance(new WebAssembly.Module(clockModuleBytes()), wasi.getImportObject());
    wasi.initialize(instance);
    const now = instance.exports.now as () => bigint;
    const clock: CpuClock = () => Number(now()) / 1e6;
    // A platform without a thread clock answers an error and leaves 0: fall back.
    return clock() > 0 ? clock : processCpuClock;
  } catch {
    return processCpuClock;
  }
}
