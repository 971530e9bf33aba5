// Test support: the QuickJS DEBUG build (@jitl/quickjs-wasmfile-debug-sync, the same 0.32.0 as the
// release build) as a module slot for runInIsolate, and quickjs-emscripten's own leak check on it.
// The build is compiled with -DDUMP_LEAKS (JS_FreeRuntime prints every string, object and byte a
// runtime still held) and LeakSanitizer (QTS_RecoverableLeakCheck finds malloc'd blocks nothing
// points to, such as the JSValue box behind a handle that was never disposed).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  errors,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type EmscriptenModuleLoaderOptions,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import * as debugSyncModule from "@jitl/quickjs-wasmfile-debug-sync";
import { MODULE_BASE_MEMORY_BYTES, wasmPagesFor } from "../../core/limits.js";
import type { ModuleSlot } from "../../host/executor/module-slot.js";

// The package is ESM with a default export at run time; its CJS typings differ, so unwrap either way.
const debugSync = ((debugSyncModule as unknown as { default?: QuickJSSyncVariant }).default ?? debugSyncModule) as unknown as QuickJSSyncVariant;

/** A slot of the debug build that remembers every runtime made from it and what its C code printed. */
export interface DebugSlot extends ModuleSlot {
  /** Every runtime runInIsolate made from this slot, in order. */
  readonly runtimes: readonly QuickJSRuntime[];
  /**
   * quickjs-emscripten's TestQuickJSWASMModule.assertNoMemoryAllocated for this slot: throws
   * QuickJSMemoryLeakDetected when a runtime is still alive, when QuickJS reported leaks as it freed
   * one, or when LeakSanitizer finds memory nothing points to. (TestQuickJSWASMModule itself cannot
   * be used: in 0.32 its newRuntime passes `ownedLifetimes` that QuickJSWASMModule.newRuntime drops,
   * so every runtime counts as leaked even after it was disposed.)
   */
  assertNoMemoryAllocated(): void;
}

/**
 * The WASM imports with which LeakSanitizer captures a JavaScript stack trace (new Error().stack,
 * parsed with the source map) on every malloc: with them an echo event took 1–5 s here, without
 * them ~25 ms. LeakSanitizer still finds every leak; its report just names no allocation site.
 */
function withoutMallocStacks(imports: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  return { ...imports, env: { ...imports.env, emscripten_stack_snapshot: () => 0, emscripten_stack_unwind_buffer: () => 0 } };
}

/** A fresh debug-build module whose WASM memory may grow to `wasmMemoryBytes` (~1 s to instantiate, ~2 s more for its first event). */
export async function createDebugSlot(wasmMemoryBytes: number): Promise<DebugSlot> {
  const wasm = new WebAssembly.Module(readFileSync(createRequire(import.meta.url).resolve("@jitl/quickjs-wasmfile-debug-sync/wasm")));
  const memory = new WebAssembly.Memory({ initial: wasmPagesFor(MODULE_BASE_MEMORY_BYTES), maximum: wasmPagesFor(wasmMemoryBytes) });
  let printed = "";
  // @types/node 20 declares WebAssembly.Module and Memory but not Instance (a DOM-lib type).
  const { Instance } = WebAssembly as unknown as { Instance: new (module: WebAssembly.Module, imports: object) => { exports: object } };
  const emscriptenModule = {
    print: (text: string) => (printed += `${text}\n`),
    printErr: (text: string) => (printed += `${text}\n`),
    instantiateWasm: (imports: Record<string, Record<string, unknown>>, onSuccess: (instance: object) => void) => {
      const instance = new Instance(wasm, withoutMallocStacks(imports));
      onSuccess(instance);
      return instance.exports;
    },
  } as unknown as EmscriptenModuleLoaderOptions;
  const module: QuickJSWASMModule = await newQuickJSWASMModuleFromVariant(newVariant(debugSync, { wasmMemory: memory, emscriptenModule }));
  const runtimes: QuickJSRuntime[] = [];
  return {
    memory,
    memoryBytes: wasmMemoryBytes,
    runtimes,
    module: {
      newRuntime: (options) => {
        const runtime = module.newRuntime(options);
        runtimes.push(runtime);
        return runtime;
      },
    },
    assertNoMemoryAllocated() {
      const alive = runtimes.filter((runtime) => runtime.alive).length;
      if (alive > 0) throw new errors.QuickJSMemoryLeakDetected(`${alive} runtimes leaked`);
      // DUMP_LEAKS output: "String leaks:", "Object leaks:", "Memory leak: N bytes lost in M blocks".
      if (/leak/i.test(printed)) throw new errors.QuickJSMemoryLeakDetected(`QuickJS reported leaks while freeing a runtime:\n${printed.slice(0, 2000)}`);
      if (module.getFFI().QTS_RecoverableLeakCheck())
        throw new errors.QuickJSMemoryLeakDetected(`Leak sanitizer detected un-freed memory\n${printed.slice(0, 2000)}`);
    },
  };
}
