import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { SlowFirstSequencer } from "./test/support/slow-first-sequencer.js";

export default defineConfig({
  resolve: {
    // A template's tests import chatbot/testing as a bot's repository does; inside this repository
    // the template's own package.json ends the package lookup, so point the name at the source.
    alias: { "chatbot/testing": fileURLToPath(new URL("./host/testing/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts", "templates/*/*.test.ts"],
    // Sandbox tests fork runner processes; two cores, so keep file parallelism modest.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The longest files first, so none of them is left to run alone at the end (see the sequencer).
    sequence: { sequencer: SlowFirstSequencer },
  },
});
