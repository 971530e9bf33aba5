// Reading strings and bytes out of the guest under a cap. The size is read from the handle first
// (a string's `length`, an ArrayBuffer's byte length) and a value over its cap is refused before
// anything is copied to the host: copying is the expensive part (~5 ns per ASCII character and
// ~20 ns per "é" here for getString) and cannot be interrupted.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";

/**
 * Length of the guest string `handle` in UTF-16 code units. For a string primitive QuickJS answers
 * `length` from the string's header: no guest code runs and nothing is copied. A string's UTF-8
 * size is at least its length in code units, so `length > cap` proves `bytes > cap`.
 */
export function guestStringLength(ctx: QuickJSContext, handle: QuickJSHandle): number {
  return ctx.getProp(handle, "length").consume((length) => ctx.getNumber(length));
}

/** What a caller does with a value over its cap: usually throw a refusal naming the cap. */
export type OverCap = (size: number) => never;

/**
 * The guest string `handle`, read only when it has at most `maxUnits` UTF-16 code units (at most
 * 3 bytes of UTF-8 each); longer ones go to `over` with their length. `undefined` for non-strings.
 */
export function readGuestString(ctx: QuickJSContext, handle: QuickJSHandle, maxUnits: number, over: OverCap): string | undefined {
  if (ctx.typeof(handle) !== "string") return undefined;
  const units = guestStringLength(ctx, handle);
  if (units > maxUnits) over(units);
  return ctx.getString(handle);
}

/**
 * The bytes of the guest ArrayBuffer `handle`, copied to the host only when they are at most
 * `maxBytes`; larger ones go to `over`. `undefined` when it is not an ArrayBuffer.
 */
export function readGuestBytes(ctx: QuickJSContext, handle: QuickJSHandle, maxBytes: number, over: OverCap): Uint8Array | undefined {
  if (ctx.typeof(handle) !== "object") return undefined;
  // byteLength first: a getter the guest replaced runs as guest code, and its answer is only a hint.
  const claimed = ctx.getProp(handle, "byteLength").consume((h) => (ctx.typeof(h) === "number" ? ctx.getNumber(h) : undefined));
  if (claimed === undefined) return undefined;
  if (claimed > maxBytes) over(claimed);
  let view;
  try {
    // QuickJS copies the real buffer inside the sandbox's own memory (bounded by memoryBytes);
    // the host sees a view of that copy and checks its real size before copying it out.
    view = ctx.getArrayBuffer(handle);
  } catch {
    return undefined; // not an ArrayBuffer, or no sandbox memory left for the copy
  }
  // Not `consume`: it does not dispose when its callback throws, and `over` throws.
  let bytes: Uint8Array | undefined;
  const size = view.value.byteLength;
  try {
    // new Uint8Array(view) copies exactly the view's bytes out of WASM memory, which dies with it.
    if (size <= maxBytes) bytes = new Uint8Array(view.value);
  } finally {
    view.dispose();
  }
  return bytes ?? over(size);
}

/**
 * At most `maxChars` of the guest string `handle` for a report, and a note of its full length when
 * it is longer. The head of a long string is taken with its own `substring` (a guest may have
 * replaced it: the caller meters guest code, and the answer is checked again), never by copying
 * the whole string out.
 */
export function guestStringPreview(ctx: QuickJSContext, handle: QuickJSHandle, maxChars: number): string {
  const units = guestStringLength(ctx, handle);
  if (units <= maxChars) return ctx.getString(handle);
  return `${guestStringHead(ctx, handle, maxChars)}… [${units} characters]`;
}

/** The first `maxChars` code units of a longer guest string, or "" when they cannot be read. */
function guestStringHead(ctx: QuickJSContext, handle: QuickJSHandle, maxChars: number): string {
  const substring = ctx.getProp(handle, "substring");
  const from = ctx.newNumber(0);
  const to = ctx.newNumber(maxChars);
  try {
    const result = ctx.callFunction(substring, handle, from, to);
    if (result.error) {
      result.error.dispose();
      return "";
    }
    const head = result.value;
    try {
      return ctx.typeof(head) === "string" && guestStringLength(ctx, head) <= maxChars ? ctx.getString(head) : "";
    } finally {
      head.dispose();
    }
  } finally {
    to.dispose();
    from.dispose();
    substring.dispose();
  }
}
