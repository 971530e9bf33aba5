// Which walls work on this machine, found by trying each one for real (spawning a trivial program
// under it), as the host does at start and `chatbot host doctor` does for an operator.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findDelegatedCgroup, SYSTEM_CGROUP_PATHS, type CgroupFinding, type CgroupPaths } from "./runner-cgroup.js";
import { sharedLibraries } from "./runner-view.js";
import { confinedSpawn, prlimitArgs, type ConfinePlan, type WallSetup, type WallTools } from "./spawn-recipe.js";
import { WALL_LAYERS, type WallLayer, type WallReport } from "./wall-report.js";
import { DEFAULT_RUNNER_WALL_LIMITS, type RunnerWallLimits } from "./walls-limits.js";

/** The user runners run as when the host is root; `nobody` when it does not exist. */
export const RUNNER_USER = "chatbot-runner";
/** How long one try may take before it counts as failed, ms (a loaded machine starts node in ~1 s). */
const TRY_TIMEOUT_MS = 20_000;
const INSTALL_UTIL_LINUX = "apt-get install util-linux (Debian ships it; unshare, setpriv and prlimit are part of it)";
const USERNS_FIX =
  "allow user namespaces (sysctl user.max_user_namespaces=15000; on older Debian kernels also kernel.unprivileged_userns_clone=1) or start the host as root so runners get a uid of their own";

export interface DetectOptions {
  limits?: RunnerWallLimits;
  cgroupPaths?: CgroupPaths;
  /** /etc/passwd to find the runner user in (tests). */
  passwdFile?: string;
  /** Where the tries make their temporary root and scratch folders (default: the OS temp dir). */
  workDir?: string;
}

/** What was found: one report per layer, the setup the spawn recipe uses, and the cgroup subtree if any. */
export interface WallDetection {
  reports: WallReport[];
  setup: WallSetup;
  cgroup: CgroupFinding;
  /** All layers that are up, together, starting node (what a runner gets). */
  combined: { ok: boolean; why: string };
}

/** Absolute path of a tool in the usual system folders, or null. */
function findTool(name: string): string | null {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Run a command; resolve with its exit status and what it wrote to stderr. */
function attempt(command: string, args: readonly string[]): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: TRY_TIMEOUT_MS, env: { PATH: "/usr/bin:/bin" }, encoding: "utf8" }, (error, _stdout, stderr) => {
      if (!error) return resolve({ ok: true, detail: "" });
      const firstLine = stderr.trim().split("\n")[0] ?? "";
      resolve({ ok: false, detail: firstLine || error.message.split("\n")[0] || "failed" });
    });
  });
}

/** uid and gid of a user in passwd, or null. */
function lookupUser(passwdFile: string, name: string): { uid: number; gid: number } | null {
  const line = readFileSync(passwdFile, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) return null;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Try each layer and report; never throws for a layer that is down. */
export async function detectWalls(options: DetectOptions = {}): Promise<WallDetection> {
  const limits = options.limits ?? DEFAULT_RUNNER_WALL_LIMITS;
  const isRoot = process.getuid?.() === 0;
  const found = { unshare: findTool("unshare"), setpriv: findTool("setpriv"), prlimit: findTool("prlimit"), umount: findTool("umount"), sh: findTool("sh") };
  const missing = Object.entries(found)
    .filter(([, path]) => path === null)
    .map(([name]) => name);
  const tools = Object.fromEntries(Object.entries(found).map(([name, path]) => [name, path ?? `/usr/bin/${name}`])) as unknown as WallTools;
  const report = new Map<WallLayer, WallReport>();
  const set = (layer: WallLayer, up: boolean, why: string, fix = "") => report.set(layer, { layer, up, why, fix });
  const userns = isRoot ? [] : [tools.unshare, "--user", "--map-root-user"];

  // identity
  let identity: WallSetup["identity"] = { kind: "none" };
  const dropCaps = ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", "true"];
  if (missing.includes("setpriv") || missing.includes("unshare")) {
    set("identity", false, `${missing.join(", ")} not found`, INSTALL_UTIL_LINUX);
  } else if (isRoot) {
    const named = lookupUser(options.passwdFile ?? "/etc/passwd", RUNNER_USER);
    const user = named ?? lookupUser(options.passwdFile ?? "/etc/passwd", "nobody");
    if (user === null) {
      set(
        "identity",
        false,
        `the host is root but neither ${RUNNER_USER} nor nobody exists`,
        `useradd --system --no-create-home --shell /usr/sbin/nologin ${RUNNER_USER}`,
      );
    } else {
      const tried = await attempt(tools.setpriv, [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", ...dropCaps]);
      if (tried.ok) {
        identity = { kind: "uid", ...user };
        set(
          "identity",
          true,
          `runners run as uid ${user.uid} (${named ? RUNNER_USER : "nobody"}) with no groups, no capabilities and no_new_privs`,
          named ? "" : `nobody is shared with other daemons: useradd --system --no-create-home --shell /usr/sbin/nologin ${RUNNER_USER}`,
        );
      } else set("identity", false, `setpriv --reuid=${user.uid} failed: ${tried.detail}`, "start the host as root (or with CAP_SETUID and CAP_SETGID)");
    }
  } else {
    const tried = await attempt(userns[0]!, [...userns.slice(1), "--", tools.setpriv, ...dropCaps]);
    if (tried.ok) {
      identity = { kind: "userns" };
      set(
        "identity",
        true,
        "the host is not root: runners are root of a user namespace of their own (the host's uid outside) with no capabilities and no_new_privs",
      );
    } else set("identity", false, `the host is not root and a user namespace failed (${tried.detail}): runners only get no_new_privs`, USERNS_FIX);
  }
  const canUnshare = !missing.includes("unshare") && (isRoot || identity.kind === "userns");

  // network
  let network = false;
  if (!canUnshare)
    set(
      "network",
      false,
      missing.includes("unshare") ? "unshare not found" : "a network namespace needs root or a user namespace",
      missing.includes("unshare") ? INSTALL_UTIL_LINUX : USERNS_FIX,
    );
  else {
    const tried = await attempt(tools.unshare, [...userns.slice(1), "--net", "--", "true"]);
    network = tried.ok;
    if (tried.ok) set("network", true, "runners get a network namespace with only lo (down): no socket reaches the relay or the world");
    else set("network", false, `unshare --net failed: ${tried.detail}`, "allow network namespaces (a container may need --privileged or CAP_SYS_ADMIN)");
  }

  // resources
  let resources = false;
  if (missing.includes("prlimit")) set("resources", false, "prlimit not found", INSTALL_UTIL_LINUX);
  else {
    const tried = await attempt(tools.prlimit, [...prlimitArgs(limits), "--", "true"]);
    resources = tried.ok;
    if (tried.ok)
      set(
        "resources",
        true,
        `rlimits: address space ${limits.addressSpaceBytes / 2 ** 30} GiB, ${limits.openFiles} open files, ${limits.tasks} tasks (threads count; forks past it fail), files up to ${limits.fileSizeBytes / 2 ** 20} MiB, no core dumps`,
      );
    else set("resources", false, `prlimit failed: ${tried.detail}`, "check that the host's own hard limits are not below these caps (ulimit -H -a)");
  }

  // lifetime
  let lifetime = false;
  if (missing.includes("setpriv")) set("lifetime", false, "setpriv not found", INSTALL_UTIL_LINUX);
  else {
    const tried = await attempt(tools.setpriv, ["--pdeathsig=KILL", "--", "true"]);
    lifetime = tried.ok;
    if (tried.ok)
      set(
        "lifetime",
        true,
        "runners get SIGKILL when the host dies (PR_SET_PDEATHSIG); with the filesystem wall they are pid 1 of their own pid namespace, so nothing they start outlives them",
      );
    else set("lifetime", false, `setpriv --pdeathsig failed: ${tried.detail}`, INSTALL_UTIL_LINUX);
  }

  // Inside the view run prlimit, setpriv, umount (after pivot_root) and node.
  const binaries = [process.execPath, tools.setpriv, tools.prlimit, tools.umount].filter(existsSync);
  const systemFiles = [...new Set([...binaries, ...binaries.flatMap(sharedLibraries)])];
  const base: WallSetup = { tools, network: false, filesystem: false, identity, resources: false, lifetime: false, systemFiles };
  const work = mkdtempSync(join(options.workDir ?? tmpdir(), "chatbot-walls-"));
  try {
    // filesystem: node starts in the view, cannot see /etc/passwd, can write only its scratch dir
    if (!canUnshare || missing.includes("umount") || missing.includes("sh")) {
      set(
        "filesystem",
        false,
        canUnshare ? `${missing.join(", ")} not found` : "a mount namespace needs root or a user namespace",
        canUnshare ? INSTALL_UTIL_LINUX : USERNS_FIX,
      );
    } else {
      const check = "const fs=require('fs');if(fs.existsSync('/etc/passwd'))process.exit(3);fs.writeFileSync('written','1')";
      const plan = probePlan(work, { ...base, filesystem: true }, limits, ["-e", check]);
      const recipe = confinedSpawn(plan);
      const tried = await attempt(recipe.command, recipe.args);
      const wrote = existsSync(join(plan.scratchDir, "written"));
      if (tried.ok && wrote)
        set(
          "filesystem",
          true,
          "runners see only node, its libraries and the runner's files, read-only, and a scratch dir (tmpfs root, pivot_root): not the data dir, /etc or home dirs",
        );
      else
        set(
          "filesystem",
          false,
          `the mount recipe failed: ${tried.detail || "the probe could not write its scratch dir"}`,
          "allow mount namespaces (a container may need CAP_SYS_ADMIN); bubblewrap is not needed",
        );
    }
    const setup: WallSetup = { ...base, network, filesystem: report.get("filesystem")?.up === true, resources, lifetime };
    const recipe = confinedSpawn(probePlan(work, setup, limits, ["-e", "0"]));
    const tried = await attempt(recipe.command, recipe.args);
    const combined = {
      ok: tried.ok,
      why: tried.ok ? "node starts under every wall that is up" : `node does not start under all walls together: ${tried.detail}`,
    };
    const cgroup = findDelegatedCgroup(options.cgroupPaths ?? SYSTEM_CGROUP_PATHS);
    if (cgroup.usable) set("cgroup", true, `runners get a cgroup each under ${cgroup.dir} with memory.max, pids.max and cpu.max`);
    else set("cgroup", false, cgroup.why, cgroup.fix);
    return { reports: WALL_LAYERS.map((layer) => report.get(layer)!), setup, cgroup, combined };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A plan that runs `node NODE_ARGS` in fresh folders under `work`, owned by the runner's uid. */
export function probePlan(work: string, walls: WallSetup, limits: RunnerWallLimits, nodeArgs: readonly string[]): ConfinePlan {
  const dir = mkdtempSync(join(work, "try-"));
  const rootDir = join(dir, "root");
  const scratchDir = join(dir, "scratch");
  mkdirSync(rootDir);
  mkdirSync(scratchDir);
  if (walls.identity.kind === "uid") chownSync(scratchDir, walls.identity.uid, walls.identity.gid);
  return { walls, limits, node: process.execPath, nodeArgs, script: null, scriptArgs: [], readOnly: [], scratchDir, rootDir };
}
