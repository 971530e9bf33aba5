// A refusal the guest can see: a stable code and a message, nothing of the host (STYLE principle 2).
// It crosses into the guest as data, `{ code, message }` (std/contract.ts GuestErrorData) on the
// thrown Error's REFUSAL_PROPERTY, so std reads the code without parsing a sentence.
import { Scope, type QuickJSContext, type QuickJSHandle } from "quickjs-emscripten-core";
import { REFUSAL_PROPERTY, type GuestErrorData } from "../../std/contract.js";
import { guestFacingError } from "../../core/errors.js";
import { LimitExceeded } from "./event-recorder.js";

/** Thrown by bridge code; the bridge turns it into a guest Error carrying `{ code, message }` (newGuestRefusal). */
export class GuestRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the guest is told about a host-side failure: its own code for a refusal or a limit, E_HOST for anything else. */
export function refusalOf(error: unknown): GuestErrorData {
  if (error instanceof GuestRefusal) return { code: error.code, message: error.message };
  if (error instanceof LimitExceeded) return { code: `E_LIMIT_${error.limit.name}`, message: error.message };
  return guestFacingError(error);
}

/**
 * A guest Error for `refusal`, for the host function to throw or a host promise to reject with.
 * Its REFUSAL_PROPERTY is `{ code, message }`; its message is "CODE: message" for guest code that
 * reads only messages (a bot calling the host directly). Properties are defined, not set: a setter
 * the guest put on Object.prototype must not run here.
 */
export function newGuestRefusal(ctx: QuickJSContext, refusal: GuestErrorData): QuickJSHandle {
  const error = ctx.newError({ name: "Error", message: `${refusal.code}: ${refusal.message}` });
  try {
    Scope.withScope((scope) => {
      const data = scope.manage(ctx.newObject());
      ctx.defineProp(data, "code", { value: scope.manage(ctx.newString(refusal.code)), enumerable: true });
      ctx.defineProp(data, "message", { value: scope.manage(ctx.newString(refusal.message)), enumerable: true });
      ctx.defineProp(error, REFUSAL_PROPERTY, { value: data, configurable: true });
    });
    return error;
  } catch (failure) {
    error.dispose();
    throw failure;
  }
}
