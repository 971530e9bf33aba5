import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";

describe("cli host serve metrics", () => {
  it("host serve --once writes the metrics file on stop, where --metrics-file says", async () => {
    const work = mkdtempSync(join(tmpdir(), "host-serve-metrics-"));
    const data = join(work, "data");
    const io = captureIo(work);
    expect(await runCli(["host", "init", "--data-dir", data], io)).toBe(0);
    expect(await runCli(["host", "serve", "--once", "--data-dir", data], io)).toBe(0);
    const text = readFileSync(join(data, "metrics.prom"), "utf8");
    expect(text).toMatch(/^# TYPE chatbot_events_total counter$/m);
    expect(text).toMatch(/^chatbot_spool_entries 0$/m);
    expect(text).toMatch(/^chatbot_dead_letters 0$/m);
    expect(await runCli(["host", "serve", "--once", "--data-dir", data, "--metrics-file", "chatbot.prom"], io)).toBe(0);
    expect(statSync(join(work, "chatbot.prom")).mode & 0o777).toBe(0o644);
  }, 30_000);
});
