// bot.json (the operator's settings for one bot) is checked where the service loads a bot: a
// hand-edited file with a wrong type is refused with its key path instead of being cast and run.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isChatbotError } from "../../../core/errors.js";
import { parseBotSettings, readBotSettings } from "../../../host/service/bot-settings.js";

const FILE = "bots/echo@x.org/bot.json";
const VALID = { name: "Echo", enabled: true, approvedOrigins: ["https://api.example.org"], installedAt: 1_700_000_000_000 };

/** The E_CONFIG message for `raw`; fails the test if it is accepted. */
function problemsOf(raw: unknown): string {
  try {
    parseBotSettings(raw, FILE);
  } catch (error) {
    expect(isChatbotError(error, "E_CONFIG")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected bot.json to be refused");
}

describe("bot.json settings", () => {
  it("accepts what chatbot host install writes, and keeps keys it does not know (host bots edits in place)", () => {
    expect(parseBotSettings({ ...VALID, note: "kept" }, FILE)).toEqual({ ...VALID, note: "kept" });
  });

  it("refuses a wrong type with the key path and the value", () => {
    expect(problemsOf({ ...VALID, enabled: "yes" })).toBe(`${FILE}: "enabled" must be true or false, got "yes" (string)`);
    expect(problemsOf({ ...VALID, approvedOrigins: ["https://a.example.org", 7] })).toBe(
      `${FILE}: "approvedOrigins[1]" must be an origin string, got 7 (number)`,
    );
  });

  it("names every missing key at once", () => {
    const message = problemsOf({ name: "Echo" });
    expect(message.split("\n")).toEqual([
      `${FILE}: "enabled" is required (chatbot host install writes it)`,
      `${FILE}: "approvedOrigins" is required (chatbot host install writes it)`,
      `${FILE}: "installedAt" is required (chatbot host install writes it)`,
    ]);
  });

  it("refuses a value that is not an object", () => {
    expect(problemsOf(null)).toBe(`${FILE}: must be an object, got null`);
  });

  it("readBotSettings: undefined without a file, the checked settings with one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bot-settings-"));
    expect(await readBotSettings(join(dir, "bot.json"))).toBeUndefined();
    writeFileSync(join(dir, "bot.json"), JSON.stringify(VALID));
    expect(await readBotSettings(join(dir, "bot.json"))).toEqual(VALID);
    writeFileSync(join(dir, "bot.json"), JSON.stringify({ ...VALID, installedAt: "today" }));
    await expect(readBotSettings(join(dir, "bot.json"))).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringContaining('"installedAt" must be a number'),
    });
  });
});
