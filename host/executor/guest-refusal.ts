// A refusal the guest can see: a stable code and a message, nothing of the host (STYLE principle 2).

/** Thrown by bridge code; the bridge turns it into a guest Error "E_CODE: message". */
export class GuestRefusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
