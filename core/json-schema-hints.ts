// JSON Schema words for checks a schema holds as functions (valibot's v.check): an emitter cannot
// read a function, so the check carries the pattern that says the same to an editor. The host
// still runs the function (its words are the errors an author reads); the pattern only lets an
// editor flag the same values as the author types (bundler/manifest-json-schema.ts).

const hints = new WeakMap<object, Readonly<Record<string, unknown>>>();

/** `action`, marked with the JSON Schema keywords (e.g. { pattern }) that say what it checks. */
export function withJsonSchema<T extends object>(action: T, keywords: Readonly<Record<string, unknown>>): T {
  hints.set(action, keywords);
  return action;
}

/** The JSON Schema keywords `action` was marked with, if any. */
export function jsonSchemaHint(action: object): Readonly<Record<string, unknown>> | undefined {
  return hints.get(action);
}
