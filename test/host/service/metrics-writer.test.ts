import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { HostEvent } from "../../../host/service/host-event.js";
import { HostMetrics } from "../../../host/service/metrics.js";
import { startMetricsWriter } from "../../../host/service/metrics-writer.js";

const emptySpool = { all: async () => [], deadLetters: async () => [] };
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("metrics writer", () => {
  it("writes the final figures on stop, including events counted after the last write", async () => {
    const dir = await mkdtemp(join(tmpdir(), "metrics-writer-"));
    dirs.push(dir);
    const file = join(dir, "metrics.prom");
    const metrics = new HostMetrics();
    const writer = startMetricsWriter(file, metrics, emptySpool, () => {});
    await writer.write();
    const before = await readFile(file, "utf8");
    metrics.observe({ event: "spool.retry" } as HostEvent);
    metrics.observe({ event: "spool.retry" } as HostEvent);
    await writer.stop();
    const after = await readFile(file, "utf8");
    expect(before).toContain("chatbot_spool_entries 0");
    expect(before).not.toMatch(/^chatbot_\w*retr\w* 2$/m);
    expect(after).toMatch(/^chatbot_\w*retr\w* 2$/m);
  });

  it("joins a write in progress instead of starting a second one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "metrics-writer-"));
    dirs.push(dir);
    let reads = 0;
    const countingSpool = {
      all: async () => {
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return [];
      },
      deadLetters: async () => [],
    };
    const writer = startMetricsWriter(join(dir, "metrics.prom"), new HostMetrics(), countingSpool, () => {});
    await Promise.all([writer.write(), writer.write(), writer.write()]);
    expect(reads).toBe(1);
    await writer.stop();
    expect(reads).toBe(2);
  });

  it("logs a failed write as metrics.error and never throws", async () => {
    const logged: HostEvent[] = [];
    const writer = startMetricsWriter("/nonexistent-dir/metrics.prom", new HostMetrics(), emptySpool, (event) => logged.push(event));
    await writer.write();
    await writer.stop();
    expect(logged.map((event) => event.event)).toEqual(["metrics.error", "metrics.error"]);
    expect(logged[0]).toMatchObject({ file: "/nonexistent-dir/metrics.prom" });
  });
});
