// What the host reports of a value a guest threw: a name, a message and a stack, each cut to its
// cap (GUEST_ERROR_*_MAX_CHARS in core/limits.ts) by its length before it is copied out of the
// sandbox. A 30 MB `name` must not become a 30 MB RunError and a 30 MB line in the host's log.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { GUEST_ERROR_MESSAGE_MAX_CHARS, GUEST_ERROR_NAME_MAX_CHARS, GUEST_ERROR_STACK_MAX_CHARS } from "../../core/limits.js";
import { guestStringPreview } from "./guest-values.js";

/** A thrown value as text, each part bounded. */
export interface GuestErrorText {
  name: string;
  message: string;
  stack?: string;
}

/**
 * Describe the thrown value `handle`. Its getters (and a replaced `substring`) run as guest code:
 * the caller runs this as metered guest work. Never throws for anything the guest did.
 */
export function readGuestError(ctx: QuickJSContext, handle: QuickJSHandle): GuestErrorText {
  const type = ctx.typeof(handle);
  if ((type === "object" && !ctx.eq(handle, ctx.null)) || type === "function") {
    const name = readStringProp(ctx, handle, "name", GUEST_ERROR_NAME_MAX_CHARS);
    const message = readStringProp(ctx, handle, "message", GUEST_ERROR_MESSAGE_MAX_CHARS);
    const stack = readStringProp(ctx, handle, "stack", GUEST_ERROR_STACK_MAX_CHARS);
    return { name: name ?? "Error", message: message ?? "", ...(stack ? { stack } : {}) };
  }
  // null stays blank: it is also what QuickJS throws when it is too short of memory to build an
  // error, and isolate-run tells that case by the blank message.
  if (type === "object") return { name: "Error", message: "" };
  return { name: "Error", message: `thrown ${thrownText(ctx, handle, type)}` };
}

/** A thrown primitive as text. A BigInt's or Symbol's text can be megabytes long: only its type is told. */
function thrownText(ctx: QuickJSContext, handle: QuickJSHandle, type: string): string {
  switch (type) {
    case "string":
      return `string: ${guestStringPreview(ctx, handle, GUEST_ERROR_MESSAGE_MAX_CHARS)}`;
    case "number":
      return `number: ${ctx.getNumber(handle)}`;
    case "boolean":
      return `boolean: ${String(ctx.dump(handle))}`;
    default:
      return type; // undefined, bigint, symbol
  }
}

/** The string property `key` of a thrown object, bounded; undefined when it is no string or its getter throws. */
function readStringProp(ctx: QuickJSContext, handle: QuickJSHandle, key: string, maxChars: number): string | undefined {
  const value = ctx.getProp(handle, key);
  try {
    return ctx.typeof(value) === "string" ? guestStringPreview(ctx, value, maxChars) : undefined;
  } finally {
    value.dispose();
  }
}
