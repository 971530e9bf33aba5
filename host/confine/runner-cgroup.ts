// A cgroup v2 per runner, written directly to cgroupfs (no cgroup tools): memory.max, pids.max and
// cpu.max. Only where the host owns a delegated subtree (systemd Delegate=yes): its own cgroup is
// writable and memory, pids and cpu are enabled for its children in cgroup.subtree_control.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";
import type { RunnerCgroupLimits } from "./walls-limits.js";

/** The controllers a runner's cgroup needs. */
const NEEDED_CONTROLLERS = ["memory", "pids", "cpu"] as const;

/** Where to look; tests point these at a temporary folder. */
export interface CgroupPaths {
  /** Where cgroup v2 is mounted (default /sys/fs/cgroup). */
  mount: string;
  /** This process's cgroup membership (default /proc/self/cgroup). */
  selfFile: string;
}

export const SYSTEM_CGROUP_PATHS: CgroupPaths = Object.freeze({ mount: "/sys/fs/cgroup", selfFile: "/proc/self/cgroup" });

/** A delegated subtree the host can make runner cgroups in, or why there is none. */
export type CgroupFinding = { usable: true; dir: string } | { usable: false; why: string; fix: string };

/** This process's cgroup v2 directory, if cgroup v2 is mounted as the unified hierarchy. */
function ownCgroupDir(paths: CgroupPaths): string | { why: string } {
  if (!existsSync(join(paths.mount, "cgroup.controllers"))) return { why: `cgroup v2 is not mounted at ${paths.mount} (a cgroup v1 or hybrid layout)` };
  const line = readFileSync(paths.selfFile, "utf8")
    .split("\n")
    .find((l) => l.startsWith("0::"));
  if (line === undefined) return { why: `${paths.selfFile} has no cgroup v2 line (0::…)` };
  return join(paths.mount, line.slice(3));
}

/** Whether the host's own cgroup is a delegated subtree that runner cgroups can be made in. */
export function findDelegatedCgroup(paths: CgroupPaths = SYSTEM_CGROUP_PATHS): CgroupFinding {
  const unit = "run the host from a systemd unit with Delegate=yes (see the README's unit)";
  const dir = ownCgroupDir(paths);
  if (typeof dir !== "string") return { usable: false, why: dir.why, fix: `boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1) and ${unit}` };
  try {
    accessSync(dir, constants.W_OK);
    accessSync(join(dir, "cgroup.subtree_control"), constants.W_OK);
  } catch {
    return { usable: false, why: `the host's cgroup ${dir} is not writable by it (not delegated)`, fix: unit };
  }
  const enabled = readFileSync(join(dir, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
  const missing = NEEDED_CONTROLLERS.filter((c) => !enabled.includes(c));
  if (missing.length > 0) {
    return {
      usable: false,
      why: `the host's cgroup ${dir} is writable but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not enabled for its children`,
      fix: `move the host's processes into a leaf (e.g. ${join(dir, "host")}) and write "${missing.map((c) => `+${c}`).join(" ")}" to ${join(dir, "cgroup.subtree_control")}`,
    };
  }
  return { usable: true, dir };
}

/** Make a runner's cgroup under `base` with the limits written; returns its directory. */
export function createRunnerCgroup(base: string, name: string, limits: RunnerCgroupLimits): string {
  const dir = join(base, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "memory.max"), `${limits.memoryMaxBytes}\n`);
  writeFileSync(join(dir, "pids.max"), `${limits.pidsMax}\n`);
  writeFileSync(join(dir, "cpu.max"), `${limits.cpuQuotaUs} ${limits.cpuPeriodUs}\n`);
  return dir;
}

/** Remove a runner's cgroup once its processes are gone (cgroupfs refuses while any remain). */
export function removeRunnerCgroup(dir: string): void {
  rmdirSync(dir);
}
