// What a timed-out wait in an end-to-end test quotes besides the client's own events: the last
// lines of every bot host running in this test process (bot-harness.ts registers them). CI keeps
// no logs of a run, so a stalled SecureJoin has to say on the spot what the host did.

const sources = new Set<() => string>();

/** Add a source of diagnostic text; returns its removal. */
export function addDiagnostics(source: () => string): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

/** Every registered source's text, one block each ("" when none). */
export function diagnostics(): string {
  return [...sources]
    .map((source) => {
      try {
        return source();
      } catch (error) {
        return `(diagnostics failed: ${String(error)})`;
      }
    })
    .filter(Boolean)
    .join("\n");
}
