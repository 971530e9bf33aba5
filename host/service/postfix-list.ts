// Postfix list parameters (transport_maps, lmtp_connection_cache_destinations): entries separated
// by commas or white space, where an inline table's braces may hold both. `host setup` puts the
// host's entry first and takes it out again; `host doctor` tells the same line as a fix.

/** The entries of a Postfix list parameter's value: split at commas and white space outside braces. */
export function listEntries(value: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of value) {
    if (char === "{") depth++;
    if (char === "}") depth = Math.max(0, depth - 1);
    if (depth === 0 && /[\s,]/.test(char)) {
      if (current !== "") entries.push(current);
      current = "";
      continue;
    }
    current += char;
  }
  if (current !== "") entries.push(current);
  return entries;
}

/** `current` with `entry` in front of what it lists (just `entry` when it is empty). */
export function withEntryFirst(entry: string, current: string): string {
  return current ? `${entry}, ${current}` : entry;
}

/** `current` without `entry`, the rest comma-separated ("" when nothing is left). */
export function withoutEntry(current: string, entry: string): string {
  return listEntries(current)
    .filter((e) => e !== entry)
    .join(", ");
}
