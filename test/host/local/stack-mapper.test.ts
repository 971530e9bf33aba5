// A bot's exception names the author's file and line, not the minified bundle's.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../host/cli/main.js";
import { captureIo } from "../../support/cli-io.js";

describe("stack mapping", () => {
  it("a thrown error's stack points at bot.ts lines and the std's own file, through the source map", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stack-"));
    const io = captureIo(dir);
    expect(await runCli(["new", "bot"], io)).toBe(0);
    writeFileSync(
      join(dir, "bot", "bot.ts"),
      [
        'import { defineBot } from "chatbot/std";',
        "",
        "function explode(x: number): never {",
        '  throw new Error("boom " + x);',
        "}",
        "",
        "export default defineBot({",
        "  async message(msg) {",
        "    explode(msg.text.length);",
        "  },",
        "});",
        "",
      ].join("\n"),
    );
    const code = await runCli(["run", "bot", "--mail", "bot/sample.eml"], io);
    expect(code).toBe(1);
    const result = JSON.parse(io.out.slice(io.out.lastIndexOf('{\n  "status"'))) as { error: { stack: string } };
    const frames = result.error.stack
      .trim()
      .split("\n")
      .map((l) => l.trim());
    expect(frames[0]).toMatch(/^at explode \(bot\.ts:4:\d+\)$/);
    expect(frames[1]).toMatch(/^at message \(bot\.ts:9:\d+\)$/);
    expect(frames[2]).toMatch(/^at dispatch \(chatbot\/std\/define-bot\.ts:\d+:\d+\)$/);
    expect(result.error.stack).not.toMatch(/bot\.js/);
  });
});
