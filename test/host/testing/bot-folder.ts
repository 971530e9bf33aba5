// Test support: a bot folder in a temporary directory, from a manifest patch and bot.ts source.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Write chatbot.json (name "t", entry bot.ts, plus `manifest`) and bot.ts into a fresh folder; returns its path. */
export function botFolder(source: string, manifest: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "testkit-"));
  const full = { name: "t", version: "1.0.0", author: { name: "T", contact: "t@example.org" }, entry: "bot.ts", ...manifest };
  writeFileSync(join(dir, "chatbot.json"), `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(join(dir, "bot.ts"), source);
  return dir;
}
