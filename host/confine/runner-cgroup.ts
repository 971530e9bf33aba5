// A cgroup v2 per runner, written directly to cgroupfs (no cgroup tools): memory.max, pids.max and
// cpu.max. Only where the host owns a delegated subtree (systemd Delegate=yes): its own cgroup is
// writable and memory, pids and cpu are enabled for its children in cgroup.subtree_control.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";
import type { RunnerCgroupLimits } from "../../core/limits.js";

/** The controllers a runner's cgroup needs. */
const NEEDED_CONTROLLERS = ["memory", "pids", "cpu"] as const;

/** The leaf the host moves itself into, so its own cgroup may enable controllers for runner cgroups. */
export const HOST_LEAF = "chatbot-host";

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
      fix: `host serve does this itself at start (it moves into ${join(dir, HOST_LEAF)} and writes "${missing.map((c) => `+${c}`).join(" ")}" to ${join(dir, "cgroup.subtree_control")}); if it cannot, nothing else may run in that cgroup`,
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

/**
 * As `host serve` starts: make the host's own delegated cgroup usable for runner cgroups. cgroup v2
 * lets a cgroup enable controllers for its children only while no process sits in it ("no internal
 * processes"), and systemd starts the host right in its unit's cgroup (Delegate=yes). So the host
 * moves itself into a leaf, HOST_LEAF, then writes "+memory +pids +cpu" to its old cgroup's
 * cgroup.subtree_control; runner cgroups are made beside the leaf. Only what findDelegatedCgroup
 * found missing is done; any refusal (another process left in the cgroup: EBUSY) is reported.
 */
export function claimDelegatedCgroup(paths: CgroupPaths = SYSTEM_CGROUP_PATHS, pid: number = process.pid): CgroupFinding {
  const found = findDelegatedCgroup(paths);
  if (found.usable) return found;
  const dir = ownCgroupDir(paths);
  if (typeof dir !== "string") return found;
  try {
    accessSync(join(dir, "cgroup.subtree_control"), constants.W_OK);
  } catch {
    return found;
  }
  const available = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
  const unavailable = NEEDED_CONTROLLERS.filter((c) => !available.includes(c));
  if (unavailable.length > 0) {
    return {
      usable: false,
      why: `the host's cgroup ${dir} cannot enable ${unavailable.join(", ")} (its parent does not give them)`,
      fix: "Delegate=yes in the unit (systemd then passes memory, pids and cpu down)",
    };
  }
  try {
    const leaf = join(dir, HOST_LEAF);
    if (!existsSync(leaf)) mkdirSync(leaf);
    writeFileSync(join(leaf, "cgroup.procs"), `${pid}\n`);
    writeFileSync(join(dir, "cgroup.subtree_control"), NEEDED_CONTROLLERS.map((c) => `+${c}`).join(" "));
  } catch (error) {
    return {
      usable: false,
      why: `moving the host into ${join(dir, HOST_LEAF)} and enabling ${NEEDED_CONTROLLERS.join(", ")} failed: ${(error as Error).message}`,
      fix: "run nothing but host serve in its unit's cgroup (ExecStart=node …, no wrapper left running beside it)",
    };
  }
  return { usable: true, dir };
}
