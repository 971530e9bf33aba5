// A QuickJS WASM module whose linear memory has a fixed maximum: the only memory cap that also
// holds against huge strings and typed arrays (DESIGN §2: setMemoryLimit alone does not).
// One slot per concurrent isolate; replaced after any out-of-memory, host exception or failed dispose.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from "quickjs-emscripten-core";
import * as releaseSyncModule from "@jitl/quickjs-wasmfile-release-sync";
import type { EmscriptenModuleLoaderOptions, QuickJSSyncVariant } from "quickjs-emscripten-core";
import { MODULE_BASE_MEMORY_BYTES, wasmPagesFor } from "../../core/limits.js";

// The package is ESM with a default export at run time; its CJS typings differ, so unwrap either way.
const releaseSync = ((releaseSyncModule as unknown as { default?: QuickJSSyncVariant }).default ?? releaseSyncModule) as unknown as QuickJSSyncVariant;

/** The compiled WebAssembly of the bellard release-sync build (compile once, instantiate per slot). */
export function compileQuickJSWasm(): WebAssembly.Module {
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
  return new WebAssembly.Module(readFileSync(wasmPath));
}

/** A module instance plus the memory it may not grow beyond. */
export interface ModuleSlot {
  /** Only runtimes are made from it (isolate-run.ts): a test may pass another build, or a wrapper that watches them. */
  readonly module: Pick<QuickJSWASMModule, "newRuntime">;
  readonly memory: WebAssembly.Memory;
  /** The cap this slot was built for, bytes. */
  readonly memoryBytes: number;
}

/** Instantiate a fresh module whose WASM memory cannot exceed `memoryBytes` (~0.7 ms measured). */
export function createModuleSlot(wasm: WebAssembly.Module, memoryBytes: number): Promise<ModuleSlot> {
  const memory = new WebAssembly.Memory({
    initial: wasmPagesFor(MODULE_BASE_MEMORY_BYTES),
    maximum: Math.max(wasmPagesFor(memoryBytes), wasmPagesFor(MODULE_BASE_MEMORY_BYTES)),
  });
  return instantiate(wasm, memory, memoryBytes);
}

/**
 * The same memory, every byte of it zeroed, under a newly instantiated module: nothing an earlier
 * runtime left in the linear memory survives (QuickJS frees objects but not their bytes), and the
 * module's C state (malloc's, QuickJS's globals) starts over from its data segments. For a bot
 * switch (sandbox-worker.ts): measured ~3 ms against ~15 ms for a new WebAssembly.Memory, whose
 * ~10 GiB reservation also has to fit under the runner's address-space cap beside the old one.
 * The old slot must not be used again: its module instance writes into the same memory.
 */
export function recycleModuleSlot(wasm: WebAssembly.Module, slot: ModuleSlot): Promise<ModuleSlot> {
  new Uint8Array(slot.memory.buffer).fill(0);
  return instantiate(wasm, slot.memory, slot.memoryBytes);
}

async function instantiate(wasm: WebAssembly.Module, memory: WebAssembly.Memory, memoryBytes: number): Promise<ModuleSlot> {
  const variant = newVariant(releaseSync, {
    wasmModule: wasm,
    wasmMemory: memory,
    // The module writes to stderr only when it aborts (a failed QuickJS assertion), and then it
    // also throws a RuntimeError carrying the same text, which the caller handles by dropping the
    // slot. Printed, it would reach the relay's journal or a test's output as a crash it was not.
    emscriptenModule: { printErr: () => undefined } as EmscriptenModuleLoaderOptions,
  });
  const module = await newQuickJSWASMModuleFromVariant(variant);
  return { module, memory, memoryBytes };
}

/** True when the slot's memory has grown to its maximum (an allocation failure is then an OOM). */
export function slotMemoryExhausted(slot: ModuleSlot): boolean {
  // Within one page of the cap counts: the failing allocation needed more than was left.
  return slot.memory.buffer.byteLength + 64 * 1024 > wasmPagesFor(slot.memoryBytes) * 64 * 1024;
}
