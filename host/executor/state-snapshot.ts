// A bot's state as an event starts from it: its entries and their size against `stateBytes`,
// computed once. The sandbox worker keeps one per bot between events (state-cache.ts), and every
// event reads it without changing it: the event recorder copies it on its first write
// (event-recorder.ts), so an event that fails or hits a limit leaves the kept state as it was.
import { stateEntryBytes } from "./state-bytes.js";

export class StateSnapshot {
  private constructor(
    readonly entries: ReadonlyMap<string, string>,
    /** Against `stateBytes`: keys and JSON values in UTF-8. */
    readonly bytes: number,
    /** Characters of keys and values (what a state cache counts: stateChars). */
    readonly chars: number,
  ) {}

  /** The snapshot of `state` (key → JSON text). */
  static of(state: Readonly<Record<string, string>>): StateSnapshot {
    const entries = new Map(Object.entries(state));
    let bytes = 0;
    let chars = 0;
    for (const [key, json] of entries) {
      bytes += stateEntryBytes(key, json);
      chars += key.length + json.length;
    }
    return new StateSnapshot(entries, bytes, chars);
  }
}

/** Characters of keys and values of `state`: what both ends of a state cache count it as. */
export function stateChars(state: Readonly<Record<string, string>>): number {
  let chars = 0;
  for (const key in state) chars += key.length + state[key]!.length;
  return chars;
}

/** What one event changed in a bot's state: keys deleted, then values set (RunRequest state → result state). */
export interface StateChanges {
  deleted: string[];
  set: Record<string, string>;
}

/** `state` with `changes` applied (a new object; `state` is left as it was). Any key is data, "__proto__" too. */
export function applyStateChanges(state: Readonly<Record<string, string>>, changes: StateChanges): Record<string, string> {
  return applyEachStateChange(state, [changes]);
}

/** `state` with each of `list` applied in order (one pass: a state file's log, bot-state-file.ts). */
export function applyEachStateChange(state: Readonly<Record<string, string>>, list: readonly StateChanges[]): Record<string, string> {
  const next = new Map(Object.entries(state));
  for (const changes of list) {
    for (const key of changes.deleted) next.delete(key);
    for (const [key, json] of Object.entries(changes.set)) next.set(key, json);
  }
  return Object.fromEntries(next);
}
