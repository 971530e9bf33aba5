import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../host/cli/commands/index.js";

describe("cli: the command registry loads each command only when it runs", () => {
  it("each entry's path is the path of the command it loads, and no two entries share one", async () => {
    for (const entry of COMMANDS) expect((await entry.load()).path).toEqual(entry.path);
    expect(new Set(COMMANDS.map((entry) => entry.path.join(" "))).size).toBe(COMMANDS.length);
  });
});
