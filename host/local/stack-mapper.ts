// Guest stack traces point into the bundle (bot.js:line:col); authors want their own files.
// Map each position back through the bundle's source map (esbuild writes it next to bot.js).
import { SourceMap } from "node:module";

const POSITION = /\bbot\.js:(\d+):(\d+)/g;

/** A function that rewrites `bot.js:L:C` positions in a stack to `src/file.ts:L:C`. */
export function stackMapper(sourceMapJson: string): (stack: string) => string {
  const payload = JSON.parse(sourceMapJson) as ConstructorParameters<typeof SourceMap>[0] & { sources: string[] };
  const map = new SourceMap(payload);
  return (stack) =>
    stack.replace(POSITION, (whole, line: string, column: string) => {
      // QuickJS and source maps both start columns at 1 and 0 respectively; lines at 1 and 0.
      const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
      if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
      // Node resolves sources against the map's location; show them as the map names them.
      const original = entry.originalSource;
      const source = payload.sources.find((s) => original === s || original.endsWith(`/${s}`)) ?? original;
      return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    });
}
