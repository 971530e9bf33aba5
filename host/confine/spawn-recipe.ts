// The one place that builds the command line starting a confined runner (issue 12). Tests run
// their probe under exactly this recipe, so what they show holds for runners.
//
//   setpriv --pdeathsig KILL                      lifetime: unshare dies with the host
//   unshare --net --mount --pid --fork --kill-child --ipc --uts [--user --map-root-user]
//     sh -c MOUNT_SCRIPT                          filesystem: tmpfs root, read-only binds, pivot_root
//       prlimit --as --nofile --nproc --fsize --core=0      resources (inside the user namespace,
//                                                           so the task count is the runner's own)
//         setpriv [--reuid --regid --clear-groups] --no-new-privs --inh-caps=-all --bounding-set=-all
//                 --pdeathsig KILL                identity; caps and no_new_privs
//           node NODE_ARGS SCRIPT ARGS
//
// Every step execs the next, so the runner's channel to the host (fds 3 and 4, inherited:
// message-frames.ts) reaches node. Layers that detectWalls found down are left out, never faked.
import { randomInt } from "node:crypto";
import { viewEntries, type ViewEntry } from "./runner-view.js";
import { RUNNER_UIDS, type RunnerWallLimits } from "../../core/limits.js";

/** A uid (and gid) for one runner start when the host is root: random in RUNNER_UIDS (why random: there). */
export function randomRunnerUid(): number {
  return RUNNER_UIDS.first + randomInt(RUNNER_UIDS.count);
}

/** The util-linux tools the recipe runs, by absolute path (they must also be in the view). */
export interface WallTools {
  unshare: string;
  setpriv: string;
  prlimit: string;
  umount: string;
  sh: string;
}

/** What detectWalls found usable; a layer left false is not applied. */
export interface WallSetup {
  tools: WallTools;
  /** A network namespace with only lo (down). */
  network: boolean;
  /** A mount namespace with a tmpfs root; needs `network`'s unshare and a pid namespace for /proc. */
  filesystem: boolean;
  /** As root: run as this uid/gid. Otherwise "userns": root of a user namespace with no capabilities. */
  identity: { kind: "uid"; uid: number; gid: number } | { kind: "userns" } | { kind: "none" };
  /** rlimits via prlimit. */
  resources: boolean;
  /** PR_SET_PDEATHSIG via setpriv. */
  lifetime: boolean;
  /** System files the view needs: node, the tools run inside it, and their shared libraries. */
  systemFiles: readonly string[];
}

/** One runner (or probe) to start. */
export interface ConfinePlan {
  walls: WallSetup;
  limits: RunnerWallLimits;
  /** The node binary (process.execPath). */
  node: string;
  nodeArgs: readonly string[];
  /** The script node runs, visible read-only at its own path; null when nodeArgs say it all (-e CODE). */
  script: string | null;
  scriptArgs: readonly string[];
  /** Project files and folders the script needs, read-only at their own paths (runnerProjectPaths). */
  readOnly: readonly string[];
  /** The only writable folder, at its own path; the runner starts in it. It must exist. */
  scratchDir: string;
  /** An empty folder the runner's tmpfs root is mounted on (in its own mount namespace; one folder serves all). */
  rootDir: string;
  /**
   * When the host is root: the uid/gid this runner runs as, instead of walls.identity's. RLIMIT_NPROC
   * counts every task of a uid, so runners that run at once need a uid each (any unused number works).
   */
  runAs?: { uid: number; gid: number };
  /** A cgroup v2 directory made for this runner (runner-cgroup.ts); the runner joins it first. */
  cgroupDir?: string;
}

/** What to pass to child_process.spawn (a runner also gets fds 3 and 4, its channel: message-frames.ts). */
export interface SpawnRecipe {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The mount script, run by sh as root of the new mount namespace. Positional arguments: root,
 * scratch, cgroup ("" for none), tmpfs size, then newline-separated lists (dirs to make, files to
 * make as mount points, symlinks as path/target pairs; all relative to the root) and the fstab of
 * the binds, then the command to exec. Paths arrive as arguments, never inside the script text.
 * One `mkdir` and one `mount -a` do all of it (libmount cannot parse an fstab from a pipe, so it is
 * written under proc/, which the proc mount then covers): a mkdir and a mount per entry cost ~9 ms each, ~270 ms per runner start.
 * pivot_root(".", ".") then a lazy umount of "/" drops the whole old tree from the namespace, so
 * nothing outside the view is left to reach, not even with capabilities.
 */
export const MOUNT_SCRIPT = `set -euf
PATH=/usr/sbin:/usr/bin:/sbin:/bin
root=$1 scratch=$2 cgroup=$3 size=$4 dirs=$5 files=$6 links=$7 fstab=$8
shift 8
if [ -n "$cgroup" ]; then echo 0 > "$cgroup/cgroup.procs"; fi
mount -t tmpfs -o "size=$size,mode=0755,nosuid,nodev" chatbot-runner "$root"
cd "$root"
IFS='
'
mkdir -p -- $dirs
for file in $files; do : > "$file"; done
link() { while [ $# -gt 1 ]; do ln -s -- "$2" "$1"; shift 2; done; }
link $links
printf '%s' "$fstab" > proc/fstab
mount -a --fstab proc/fstab --target-prefix "$root"
mount -t proc -o nosuid,nodev,noexec proc proc
mount -o remount,ro,bind "$root"
pivot_root . .
umount -l /
cd "$scratch"
exec "$@"
`;

/** A path as fstab(5) writes it: blanks and backslashes as octal escapes. */
function fstabPath(path: string): string {
  return path.replace(/[\\ \t]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** The mount script's arguments after root and scratch: what to make and what to bind. */
export function mountScriptArgs(view: readonly ViewEntry[], scratchDir: string): { dirs: string; files: string; links: string; fstab: string } {
  const all = [...view.map((e) => e.path), scratchDir];
  const bad = all.find((path) => path.includes("\n") || !path.startsWith("/"));
  if (bad !== undefined) throw new Error(`runner view: path must be absolute and without newlines: ${JSON.stringify(bad)}`);
  const rel = (path: string) => path.slice(1);
  const parent = (path: string) => path.slice(0, path.lastIndexOf("/"));
  const dirs = new Set<string>(["proc", "dev", rel(scratchDir)]);
  const files: string[] = [];
  const links: string[] = [];
  const fstab: string[] = [];
  const bind = (path: string, options: string, source = path) => fstab.push(`${fstabPath(source)} ${fstabPath(path)} none bind,${options} 0 0`);
  for (const entry of view) {
    if (entry.kind === "link") {
      if (parent(entry.path)) dirs.add(rel(parent(entry.path)));
      links.push(rel(entry.path), entry.target);
      continue;
    }
    if (entry.kind === "dir") dirs.add(rel(entry.path));
    else {
      if (parent(entry.path)) dirs.add(rel(parent(entry.path)));
      files.push(rel(entry.path));
    }
    bind(entry.path, "ro,nosuid,nodev", entry.kind === "file" ? entry.source : undefined);
  }
  for (const dev of ["/dev/null", "/dev/zero", "/dev/urandom"]) {
    files.push(rel(dev));
    bind(dev, "ro,nosuid");
  }
  bind(scratchDir, "nosuid,nodev");
  return { dirs: [...dirs].join("\n"), files: files.join("\n"), links: links.join("\n"), fstab: `${fstab.join("\n")}\n` };
}

/** The prlimit arguments for `limits` (soft = hard: the runner cannot raise them back). */
export function prlimitArgs(limits: RunnerWallLimits): string[] {
  return [`--as=${limits.addressSpaceBytes}`, `--nofile=${limits.openFiles}`, `--nproc=${limits.tasks}`, `--fsize=${limits.fileSizeBytes}`, "--core=0"];
}

/** The command line that starts `plan`'s script under every wall that is up. */
export function confinedSpawn(plan: ConfinePlan): SpawnRecipe {
  const { walls, limits } = plan;
  const { tools } = walls;
  const node = [plan.node, ...plan.nodeArgs, ...(plan.script === null ? [] : [plan.script]), ...plan.scriptArgs];

  const setpriv = [tools.setpriv];
  if (walls.identity.kind === "uid") {
    const { uid, gid } = plan.runAs ?? walls.identity;
    setpriv.push(`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups");
  }
  setpriv.push("--no-new-privs");
  // Dropping capabilities needs CAP_SETPCAP: as root, or as root of the user namespace.
  if (walls.identity.kind !== "none") setpriv.push("--inh-caps=-all", "--bounding-set=-all");
  // After --reuid: a change of credentials clears the parent-death signal.
  if (walls.lifetime) setpriv.push("--pdeathsig=KILL");
  let inner = [...setpriv, "--", ...node];
  if (walls.resources) inner = [tools.prlimit, ...prlimitArgs(limits), "--", ...inner];

  const unshare = [tools.unshare];
  if (walls.identity.kind === "userns") unshare.push("--user", "--map-root-user");
  if (walls.network) unshare.push("--net");
  if (walls.filesystem) unshare.push("--mount", "--propagation=private", "--pid", "--fork", "--kill-child=SIGKILL", "--ipc", "--uts");
  let argv = inner;
  if (unshare.length > 1) {
    argv = walls.filesystem
      ? [
          ...unshare,
          "--",
          tools.sh,
          "-c",
          MOUNT_SCRIPT,
          "chatbot-runner-view",
          plan.rootDir,
          plan.scratchDir,
          plan.cgroupDir ?? "",
          String(limits.rootTmpfsBytes),
          ...Object.values(mountScriptArgs(runnerView(plan), plan.scratchDir)),
          ...inner,
        ]
      : [...unshare, "--", ...inner];
  }
  // unshare --fork waits for the runner: it must die with the host too.
  if (walls.lifetime && walls.filesystem) argv = [tools.setpriv, "--pdeathsig=KILL", "--", ...argv];
  const [command, ...args] = argv;
  // Only what Node needs: nothing of the host's environment (secrets, NODE_OPTIONS, CA paths).
  return { command: command!, args, env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", TZ: "UTC" } };
}

/** Everything the runner sees besides its scratch dir, /proc and /dev/{null,zero,urandom}: system files, project files, its script. */
export function runnerView(plan: Pick<ConfinePlan, "walls" | "readOnly" | "script">): ViewEntry[] {
  return viewEntries([...plan.walls.systemFiles, ...plan.readOnly, ...(plan.script === null ? [] : [plan.script])]);
}
