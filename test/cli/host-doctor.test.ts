import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { formatWalls } from "../../host/cli/commands/host-doctor.js";
import type { WallDetection } from "../../host/confine/detect-walls.js";
import { WALL_LAYERS } from "../../host/confine/wall-report.js";
import { captureIo } from "../support/cli-io.js";

interface DoctorJson {
  walls: Array<{ layer: string; up: boolean; why: string; fix: string }>;
  combined: { ok: boolean; why: string };
  allUp: boolean;
}

describe("chatbot host doctor", () => {
  it("--json lists every layer in order, up or down with why, a fix for each one down, and --require-all fails when one is down", async () => {
    const io = captureIo(process.cwd());
    const code = await runCli(["host", "doctor", "--json", "--require-all"], io);
    const report = JSON.parse(io.out) as DoctorJson;
    console.log(`host doctor here: ${report.walls.map((w) => `${w.layer} ${w.up ? "up" : "down"}`).join(", ")}`);
    expect(report.walls.map((w) => w.layer)).toEqual([...WALL_LAYERS]);
    for (const wall of report.walls) {
      expect(typeof wall.up).toBe("boolean");
      expect(wall.why.length).toBeGreaterThan(10);
      if (!wall.up) expect(wall.fix.length).toBeGreaterThan(10);
    }
    expect(report.allUp).toBe(report.walls.every((w) => w.up) && report.combined.ok);
    expect(code).toBe(report.allUp ? 0 : 1);
  });

  it("prints one line per layer, the fix under each one that is down, and exits 0 without --require-all", async () => {
    const io = captureIo(process.cwd());
    expect(await runCli(["host", "doctor"], io)).toBe(0);
    const lines = io.out.trimEnd().split("\n");
    for (const layer of WALL_LAYERS) expect(lines.some((line) => new RegExp(`^(up  |DOWN)  ${layer} `).test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^(all walls are up|down: [a-z, ]+)$/);
  });

  it("the text report names a layer that is down and its fix", () => {
    const reports = WALL_LAYERS.map((layer) => ({ layer, up: layer !== "cgroup", why: `${layer} why`, fix: layer === "cgroup" ? "use Delegate=yes" : "" }));
    const detection = { reports, combined: { ok: true, why: "node starts under every wall that is up" } } as unknown as WallDetection;
    const text = formatWalls(detection);
    expect(text).toContain("DOWN  cgroup      cgroup why\n                  fix: use Delegate=yes\n");
    expect(text).toContain("up    network     network why\n");
    expect(text.trimEnd().split("\n").at(-1)).toBe("down: cgroup");
  });

  it("--help describes each layer and the options", async () => {
    const io = captureIo(process.cwd());
    expect(await runCli(["host", "doctor", "--help"], io)).toBe(0);
    for (const word of [...WALL_LAYERS, "--json", "--require-all"]) expect(io.out).toContain(word);
  });

  it("rejects an unknown option with a usage error", async () => {
    const io = captureIo(process.cwd());
    expect(await runCli(["host", "doctor", "--all"], io)).toBe(64);
    expect(io.err).toContain("host doctor --help");
  });
});
