// Which walls work on this machine, found by trying each one for real (spawning a trivial program
// under it), as the host does at start and `chatbot host doctor` does for an operator.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimDelegatedCgroup, findDelegatedCgroup, SYSTEM_CGROUP_PATHS, type CgroupFinding, type CgroupPaths } from "./runner-cgroup.js";
import { sharedLibraries } from "./runner-view.js";
import { confinedSpawn, prlimitArgs, randomRunnerUid, type ConfinePlan, type SpawnRecipe, type WallSetup, type WallTools } from "./spawn-recipe.js";
import { WALL_LAYERS, type WallLayer, type WallReport } from "./wall-report.js";
import { DEFAULT_RUNNER_WALL_LIMITS, RUNNER_UIDS, type RunnerWallLimits } from "../../core/limits.js";

/** How long one try may take before it counts as failed, ms (a loaded machine starts node in ~1 s). */
const TRY_TIMEOUT_MS = 20_000;
const INSTALL_UTIL_LINUX = "apt-get install util-linux (Debian ships it; unshare, setpriv and prlimit are part of it)";
const USERNS_FIX =
  "allow user namespaces (sysctl user.max_user_namespaces=15000; on older Debian kernels also kernel.unprivileged_userns_clone=1) or start the host as root so runners get a uid of their own";
/** What the filesystem try's node checks: it cannot see /etc/passwd, and can write its scratch dir. */
const FILESYSTEM_CHECK = "const fs=require('fs');if(fs.existsSync('/etc/passwd'))process.exit(3);fs.writeFileSync('written','1')";

export interface DetectOptions {
  limits?: RunnerWallLimits;
  cgroupPaths?: CgroupPaths;
  /** Where the tries make their temporary root and scratch folders (default: the OS temp dir). */
  workDir?: string;
  /**
   * `host serve` only: make a delegated cgroup usable (claimDelegatedCgroup moves this process
   * into a leaf). `host doctor` only looks.
   */
  claimCgroup?: boolean;
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

/**
 * Try each layer and report; never throws for a layer that is down. The tries that start only
 * `true` run at once; node starts once under every layer together (the filesystem try and the
 * combined one in one), and again only to tell which layer broke it: ~0.3 s on an idle machine.
 */
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
  const userns = isRoot ? [] : ["--user", "--map-root-user"];
  const dropCaps = ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", "true"];
  const hasSetpriv = !missing.includes("setpriv");
  const hasUnshare = !missing.includes("unshare");
  const uid = randomRunnerUid();

  const [identityTry, networkTry, resourcesTry, lifetimeTry] = await Promise.all([
    !hasSetpriv || !hasUnshare
      ? null
      : isRoot
        ? attempt(tools.setpriv, [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...dropCaps])
        : attempt(tools.unshare, [...userns, "--", tools.setpriv, ...dropCaps]),
    hasUnshare ? attempt(tools.unshare, [...userns, "--net", "--", "true"]) : null,
    missing.includes("prlimit") ? null : attempt(tools.prlimit, [...prlimitArgs(limits), "--", "true"]),
    hasSetpriv ? attempt(tools.setpriv, ["--pdeathsig=KILL", "--", "true"]) : null,
  ]);

  // identity
  let identity: WallSetup["identity"] = { kind: "none" };
  if (identityTry === null) set("identity", false, `${missing.join(", ")} not found`, INSTALL_UTIL_LINUX);
  else if (isRoot) {
    if (identityTry.ok) {
      identity = { kind: "uid", uid, gid: uid };
      set(
        "identity",
        true,
        `runners run as uids ${RUNNER_UIDS.first}-${RUNNER_UIDS.first + RUNNER_UIDS.count - 1}, one drawn at random per runner start, in no passwd or group file (nothing else shares them), with no groups, no capabilities and no_new_privs`,
      );
    } else set("identity", false, `setpriv --reuid=${uid} failed: ${identityTry.detail}`, "start the host as root (or with CAP_SETUID and CAP_SETGID)");
  } else if (identityTry.ok) {
    identity = { kind: "userns" };
    set(
      "identity",
      true,
      "the host is not root: runners are root of a user namespace of their own (the host's uid outside) with no capabilities and no_new_privs",
    );
  } else set("identity", false, `the host is not root and a user namespace failed (${identityTry.detail}): runners only get no_new_privs`, USERNS_FIX);
  const canUnshare = hasUnshare && (isRoot || identity.kind === "userns");

  // network
  const network = canUnshare && networkTry?.ok === true;
  if (!canUnshare)
    set(
      "network",
      false,
      hasUnshare ? "a network namespace needs root or a user namespace" : "unshare not found",
      hasUnshare ? USERNS_FIX : INSTALL_UTIL_LINUX,
    );
  else if (network) set("network", true, "runners get a network namespace with only lo (down): no socket reaches the relay or the world");
  else set("network", false, `unshare --net failed: ${networkTry?.detail}`, "allow network namespaces (a container may need --privileged or CAP_SYS_ADMIN)");

  // resources
  const resources = resourcesTry?.ok === true;
  if (resourcesTry === null) set("resources", false, "prlimit not found", INSTALL_UTIL_LINUX);
  else if (resources)
    set(
      "resources",
      true,
      `rlimits: address space ${limits.addressSpaceBytes / 2 ** 30} GiB, ${limits.openFiles} open files, ${limits.tasks} tasks (threads count; forks past it fail), files up to ${limits.fileSizeBytes / 2 ** 20} MiB, no core dumps`,
    );
  else set("resources", false, `prlimit failed: ${resourcesTry.detail}`, "check that the host's own hard limits are not below these caps (ulimit -H -a)");

  // lifetime
  const lifetime = lifetimeTry?.ok === true;
  if (lifetimeTry === null) set("lifetime", false, "setpriv not found", INSTALL_UTIL_LINUX);
  else if (lifetime)
    set(
      "lifetime",
      true,
      "runners get SIGKILL when the host dies (PR_SET_PDEATHSIG); with the filesystem wall they are pid 1 of their own pid namespace, so nothing they start outlives them",
    );
  else set("lifetime", false, `setpriv --pdeathsig failed: ${lifetimeTry.detail}`, INSTALL_UTIL_LINUX);

  // Inside the view run prlimit, setpriv, umount (after pivot_root) and node.
  const binaries = [process.execPath, tools.setpriv, tools.prlimit, tools.umount].filter(existsSync);
  const systemFiles = [...new Set([...binaries, ...binaries.flatMap(sharedLibraries)])];
  const others: WallSetup = { tools, network, filesystem: false, identity, resources, lifetime, systemFiles };
  const work = mkdtempSync(join(options.workDir ?? tmpdir(), "chatbot-walls-"));
  try {
    // filesystem and all together: node starts in the view, cannot see /etc/passwd, can write only its scratch dir
    let combined: WallDetection["combined"];
    let filesystem = false;
    const tryNode = async (setup: WallSetup, nodeArgs: string[], mustWrite: boolean) => {
      const plan = probePlan(work, setup, limits, nodeArgs);
      const tried = await attempt(...spawnArgs(confinedSpawn(plan)));
      const wrote = !mustWrite || existsSync(join(plan.scratchDir, "written"));
      return { ok: tried.ok && wrote, detail: tried.detail || (wrote ? "" : "the probe could not write its scratch dir") };
    };
    if (!canUnshare || missing.includes("umount") || missing.includes("sh")) {
      set(
        "filesystem",
        false,
        canUnshare ? `${missing.join(", ")} not found` : "a mount namespace needs root or a user namespace",
        canUnshare ? INSTALL_UTIL_LINUX : USERNS_FIX,
      );
      const together = await tryNode(others, ["-e", "0"], false);
      combined = {
        ok: together.ok,
        why: together.ok ? "node starts under every wall that is up" : `node does not start under all walls together: ${together.detail}`,
      };
    } else {
      const together = await tryNode({ ...others, filesystem: true }, ["-e", FILESYSTEM_CHECK], true);
      // Together failed: the filesystem alone (with the identity it needs) tells which side broke it.
      const alone = together.ok
        ? together
        : await tryNode({ ...others, network: false, resources: false, lifetime: false, filesystem: true }, ["-e", FILESYSTEM_CHECK], true);
      filesystem = alone.ok;
      if (filesystem)
        set(
          "filesystem",
          true,
          "runners see only node, its libraries and the runner's files, read-only, and a scratch dir (tmpfs root, pivot_root): not the data dir, /etc or home dirs",
        );
      else
        set(
          "filesystem",
          false,
          `the mount recipe failed: ${alone.detail}`,
          "allow mount namespaces (a container may need CAP_SYS_ADMIN); bubblewrap is not needed",
        );
      if (together.ok) combined = { ok: true, why: "node starts under every wall that is up" };
      else {
        const rest = filesystem ? together : await tryNode(others, ["-e", "0"], false);
        combined = { ok: false, why: `node does not start under all walls together: ${rest.detail}` };
      }
    }
    const setup: WallSetup = { ...others, filesystem };
    const cgroupPaths = options.cgroupPaths ?? SYSTEM_CGROUP_PATHS;
    const cgroup = options.claimCgroup ? claimDelegatedCgroup(cgroupPaths) : findDelegatedCgroup(cgroupPaths);
    if (cgroup.usable) set("cgroup", true, `runners get a cgroup each under ${cgroup.dir} with memory.max, pids.max and cpu.max`);
    else set("cgroup", false, cgroup.why, cgroup.fix);
    return { reports: WALL_LAYERS.map((layer) => report.get(layer)!), setup, cgroup, combined };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A recipe as attempt()'s arguments. */
function spawnArgs(recipe: SpawnRecipe): [string, string[]] {
  return [recipe.command, recipe.args];
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
