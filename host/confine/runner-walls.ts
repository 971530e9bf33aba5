// The walls `host serve` starts its runners behind (issue 12): found at start by trying each one
// (detectWalls, ~0.5 s), logged as one `runner.walls` line, and checked against host.json's
// `requireWalls`: a required layer that is down stops the start with the fix. A layer that is down
// and not required is left out and said so; if the layers that are up fail together, runners
// start plain rather than not at all (the line says that too).
import { packageRoot } from "../../bundler/package-root.js";
import { ChatbotError } from "../../core/errors.js";
import type { HostLog } from "../service/host-event.js";
import { detectWalls, type DetectOptions, type WallDetection } from "./detect-walls.js";
import { confinedLauncher, plainLauncher, type RunnerLauncher } from "./runner-launcher.js";
import { WALL_LAYERS, type WallLayer } from "./wall-report.js";

/** host.json `requireWalls`: layers the host must not start without, or "all". */
export type RequiredWalls = readonly WallLayer[] | "all";

/** The layers of `required` that `detection` found down (all of them when the walls fail together). */
export function missingWalls(detection: WallDetection, required: RequiredWalls): WallLayer[] {
  const wanted = required === "all" ? WALL_LAYERS : required;
  if (!detection.combined.ok) return [...wanted];
  return wanted.filter((layer) => detection.reports.find((r) => r.layer === layer)?.up !== true);
}

/** Whether runners start confined: the layers that are up work together, and one of them is more than a cgroup. */
export function confinesRunners(detection: WallDetection): boolean {
  return detection.combined.ok && detection.reports.some((r) => r.up && r.layer !== "cgroup");
}

/** Detect, log and check the walls; the launcher runners start with. */
export async function openRunnerWalls(required: RequiredWalls, log: HostLog, options: DetectOptions = {}): Promise<RunnerLauncher> {
  return launcherFor(await detectRunnerWalls(required, log, options));
}

/**
 * Detect, log and check the walls, once per `host serve` (its door process: the cgroup claim moves
 * that process into a leaf, which the pipeline process it starts inherits). The detection is plain
 * data: the pipeline process gets it as JSON and builds its launcher with launcherFor.
 */
export async function detectRunnerWalls(required: RequiredWalls, log: HostLog, options: DetectOptions = {}): Promise<WallDetection> {
  const detection = await detectWalls({ claimCgroup: true, ...options });
  const up = detection.reports.filter((r) => r.up);
  const confined = confinesRunners(detection);
  log({
    event: "runner.walls",
    confined,
    up: up.map((r) => r.layer),
    down: detection.reports.filter((r) => !r.up).map(({ layer, why, fix }) => ({ layer, why, fix })),
    together: detection.combined.why,
  });
  const missing = missingWalls(detection, required);
  if (missing.length > 0) {
    const reasons = missing.map((layer) => {
      const report = detection.reports.find((r) => r.layer === layer)!;
      return report.up ? `${layer}: ${detection.combined.why}` : `${layer}: ${report.why}${report.fix ? ` (fix: ${report.fix})` : ""}`;
    });
    throw new ChatbotError(
      "E_CONFIG",
      `host.json requireWalls names ${missing.length === 1 ? "a wall that is" : "walls that are"} down, so the host does not start: ${reasons.join("; ")}. 'chatbot host doctor' shows every layer.`,
    );
  }
  return detection;
}

/** The launcher runners start with, from a detection detectRunnerWalls checked. */
export function launcherFor(detection: WallDetection): RunnerLauncher {
  if (!confinesRunners(detection)) return plainLauncher;
  return confinedLauncher(detection.setup, {
    projectRoot: packageRoot(),
    ...(detection.cgroup.usable ? { cgroupBase: detection.cgroup.dir } : {}),
  });
}
