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
import { OUTER_TO_MAX_BYTES } from "../../limits.js";

/** `inner` with the outer To's addresses when the protected headers carry no To at all. */
export function withOuterRecipients(inner: DeltaInner, outer: OuterMail): DeltaInner {
  if (inner.headers.has("to")) return inner;
  const values = outer.headers.get("to") ?? [];
  if (values.reduce((bytes, value) => bytes + value.length, 0) > OUTER_TO_MAX_BYTES) return inner;
  const to: DeltaInner["to"] = [];
  for (const value of values) {
    for (const entry of addressparser(value, { flatten: true })) {
      const addr = bareAddress(entry.address);
      if (addr) to.push({ addr, name: entry.name });
    }
  }
  return to.length > 0 ? { ...inner, to } : inner;
}
