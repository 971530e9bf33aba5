// What bot state counts against the `stateBytes` quota.

/** Size of one state entry as counted against `stateBytes`: key and JSON value in UTF-8. */
export function stateEntryBytes(key: string, json: string): number {
  return Buffer.byteLength(key, "utf8") + Buffer.byteLength(json, "utf8");
}
