// quickjs-emscripten 0.32 (quickjs-emscripten#240; the fix, #248, is unreleased): executePendingJobs
// reads the context of the last job through a view of WASM memory taken before the jobs ran. When
// a job grows the memory (any large allocation in an async function or promise callback), the view
// is detached, the pointer reads as undefined, and the library wraps it in a brand-new context that
// nobody owns. That context was still alive when the runtime was freed, so JS_FreeRuntime failed
// its leak assertion and aborted the WASM module: the "Aborted(Assertion failed:
// list_empty(&rt->gc_obj_list))" seen after events that allocate a lot after an `await`.
import type { QuickJSContext, QuickJSRuntime } from "quickjs-emscripten-core";

/**
 * Make `runtime`, which holds exactly one context, answer the library's "context of an unknown
 * pointer" lookups with `ctx` instead of creating a stray context.
 */
export function pinJobContext(runtime: QuickJSRuntime, ctx: QuickJSContext): void {
  const newContext = runtime.newContext.bind(runtime);
  runtime.newContext = (options) => {
    // The lookup passes { contextPointer }; only a lost (undefined or 0) pointer comes here, since
    // the pointer of `ctx` itself is found in the library's map without calling newContext.
    if (options && "contextPointer" in options && !options.contextPointer) return ctx;
    return newContext(options);
  };
}
