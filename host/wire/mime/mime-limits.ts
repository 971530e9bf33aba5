// Structural caps of the inner-MIME parser (STYLE principle 5). They belong in host/limits.ts; they
// live here only because this change may not touch that file — move them there as they are.
// The byte cap of a whole mail is the caller's (`limits.maxBytes`, normally MAIL_MAX_BYTES).

/** MIME entities in one inner message, the root included: 1000 is parsed, 1001 is refused. */
export const INNER_MAX_MIME_NODES = 1000;
/** Bytes of one entity's header section as mailparser's splitter counts them (its default, 1 MiB). */
export const INNER_MAX_HEADER_BYTES = 1024 * 1024;
