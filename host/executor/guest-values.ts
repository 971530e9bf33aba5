// Reading strings and bytes out of the guest under a cap. The size is read from the handle first
// (a string's `length`, an ArrayBuffer's byte length) and a value over its cap is refused before
// anything is copied to the host: copying is the expensive part (~5 ns per ASCII character and
// ~20 ns per "é" here for getString) and cannot be interrupted.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { NUL_STRING_MAX_CHARS } from "../../core/limits.js";
import { GuestRefusal } from "./guest-refusal.js";

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
  return exactGuestString(ctx, handle, units);
}

/**
 * The guest string `handle` of `units` code units, exactly. getString passes strings as C strings,
 * so a NUL ends them early ("a\0b" arrived as "a") and lone surrogates come out changed; when the
 * copy's length differs, the string is read again as JSON made by QuickJS's C JSON.stringify
 * (QTS_Dump, which the guest cannot replace), from a null-prototype wrapper (no toJSON to look up),
 * and the answer must have exactly `units` code units. Costs a second linear pass only for those strings.
 */
export function exactGuestString(ctx: QuickJSContext, handle: QuickJSHandle, units: number): string {
  const text = ctx.getString(handle);
  if (text.length === units) return text;
  if (units > NUL_STRING_MAX_CHARS) throw nulStringRefusal(units);
  const wrapper = ctx.newObject(ctx.null);
  try {
    ctx.setProp(wrapper, "s", handle);
    const value = (ctx.dump(wrapper) as { s?: unknown } | undefined)?.s;
    if (typeof value === "string" && value.length === units) return value;
    throw nulStringRefusal(units);
  } finally {
    wrapper.dispose();
  }
}

function nulStringRefusal(units: number): GuestRefusal {
  return new GuestRefusal(
    "E_ARGUMENT",
    `a string with NUL characters or lone surrogates crosses to or from the host only up to ${NUL_STRING_MAX_CHARS} characters; this one has ${units}`,
  );
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
  let view: ReturnType<typeof ctx.getArrayBuffer>;
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
  if (units <= maxChars) {
    try {
      return exactGuestString(ctx, handle, units);
    } catch {
      return ctx.getString(handle); // a report: the C-string copy will do
    }
  }
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

/**
 * A guest string holding `text` exactly. newString passes a C string, so a NUL would end it early
 * (utf8Decode of bytes with a 0 lost the rest); such a text is made by evaluating its JSON, which
 * is a plain string literal (no global the guest could replace is involved).
 */
export function newExactGuestString(ctx: QuickJSContext, text: string): QuickJSHandle {
  if (!text.includes("\0")) return ctx.newString(text);
  if (text.length > NUL_STRING_MAX_CHARS) throw nulStringRefusal(text.length);
  const literal = ctx.evalCode(JSON.stringify(text), "host-string.js", { type: "global" });
  if (!literal.error) return literal.value;
  literal.error.dispose();
  throw nulStringRefusal(text.length);
}
