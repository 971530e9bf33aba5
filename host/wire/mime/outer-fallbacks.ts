// Where an older Delta Chat core writes what the bot needs outside the encryption only. Core 1.139
// and older put `To` in the outer (unprotected) headers alone (mimefactory.rs: headers.unprotected);
// core 1.x also `Autocrypt`. A protected copy always wins; an outer one fills in only where the
// protected headers have none, as those cores themselves read it. An outer To says who the sender
// addressed — never who may speak for a key — so the worst a forger in transit gains is a wrong
// member list for a group the signed message names, which the sender's next message corrects.
import addressparser from "nodemailer/lib/addressparser/index.js";
import type { DeltaInner } from "./parse-inner.js";
import type { OuterMail } from "./parse-outer.js";
import { bareAddress } from "./mime-entity.js";
import { OUTER_TO_MAX_BYTES } from "../../../core/limits.js";

/**
 * `inner` with what older cores write outside only: the outer To's addresses when the protected
 * headers carry no To at all, and the outer Autocrypt value (when there is exactly one) when the
 * protected headers have no usable one. An Autocrypt key still counts only if the message's
 * signature verifies with it, and a key SecureJoin verified is never replaced (inbound.ts).
 */
export function withOuterFallbacks(inner: DeltaInner, outer: OuterMail): DeltaInner {
  const to = inner.headers.has("to") ? undefined : outerRecipients(outer);
  const outerAutocrypt = outer.headers.get("autocrypt");
  const autocrypt = inner.autocrypt === undefined && outerAutocrypt?.length === 1 ? outerAutocrypt[0] : undefined;
  if (!to && autocrypt === undefined) return inner;
  return { ...inner, ...(to ? { to } : {}), ...(autocrypt !== undefined ? { autocrypt } : {}) };
}

/** The outer To's addresses, or undefined when it names none or is over OUTER_TO_MAX_BYTES. */
function outerRecipients(outer: OuterMail): DeltaInner["to"] | undefined {
  const values = outer.headers.get("to") ?? [];
  if (values.reduce((bytes, value) => bytes + value.length, 0) > OUTER_TO_MAX_BYTES) return undefined;
  const to: DeltaInner["to"] = [];
  for (const value of values) {
    for (const entry of addressparser(value, { flatten: true })) {
      const addr = bareAddress(entry.address);
      if (addr) to.push({ addr, name: entry.name });
    }
  }
  return to.length > 0 ? to : undefined;
}
