// One full garbage collection of the host process, for a host that has gone idle (host-service.ts,
// IDLE_GC_MS). V8 keeps a heap's garbage until its next collection, which an idle process may not
// reach for a long time: after the start-up scan of 10 000 bots serve held 9–22 MiB more than
// with one bot, ~4 MiB after one collection (issue 15: an idle bot costs nothing). Node exposes no
// collector without --expose-gc on its command line; the flag set at run time makes V8 put gc()
// into contexts created afterwards, so one new context hands it over (once, on first use).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/** Collect this process's garbage now (a full, synchronous collection: ~20–35 ms of CPU for `host serve`). */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}
