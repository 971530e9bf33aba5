// How the executor starts a runner process (issue 12). Plain: node on the host's own terms, for
// `chatbot run`/`dev` and the test kit on an author's own machine. Confined: under every wall
// detectWalls found up, through the one recipe tests probe (spawn-recipe.ts), for `host serve`.
// A launch is one runner's life: its scratch folder and uid are its own and go when it exits.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runnerProjectPaths } from "./runner-view.js";
import { confinedSpawn, randomRunnerUid, type WallSetup } from "./spawn-recipe.js";
import { createRunnerCgroup, removeRunnerCgroup } from "./runner-cgroup.js";
import { DEFAULT_RUNNER_CGROUP_LIMITS, DEFAULT_RUNNER_WALL_LIMITS, type RunnerCgroupLimits, type RunnerWallLimits } from "../../core/limits.js";

/** What to spawn for one runner (stdio gets the IPC channel), and what to do once it exited. */
export interface RunnerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Call after the runner exited: removes what the launch made for it. */
  release(): void;
}

export interface RunnerLauncher {
  /** True when runners start behind walls (the `runner.walls` log line says which). */
  readonly confined: boolean;
  /** The command line for a runner running `runnerPath` with `nodeArgs`. */
  launch(runnerPath: string, nodeArgs: readonly string[]): RunnerLaunch;
  /** Remove the launcher's own folder (after every runner exited). */
  close(): void;
}

/** Only what Node needs: the runner has no business with the host's environment (secrets, NODE_OPTIONS). */
const RUNNER_ENV = Object.freeze({ PATH: "/usr/bin:/bin", LANG: "C.UTF-8", TZ: "UTC" });

/** node RUNNER, as the host's own user, with nothing of the host's environment. */
export const plainLauncher: RunnerLauncher = Object.freeze({
  confined: false,
  launch: (runnerPath: string, nodeArgs: readonly string[]): RunnerLaunch => ({
    command: process.execPath,
    args: [...nodeArgs, runnerPath],
    env: { ...RUNNER_ENV },
    release: () => undefined,
  }),
  close: () => undefined,
});

export interface ConfinedLauncherOptions {
  /** The package root whose package.json, lib/ and runner packages the runner sees read-only. */
  projectRoot: string;
  limits?: RunnerWallLimits;
  /** Where the launcher makes its folder (default: the OS temp dir; systemd's PrivateTmp keeps it private). */
  workDir?: string;
  /** A delegated cgroup v2 folder (findDelegatedCgroup): each runner gets a cgroup under it. */
  cgroupBase?: string;
  cgroupLimits?: RunnerCgroupLimits;
}

/** Runners under the walls of `walls` (what detectWalls found up). */
export function confinedLauncher(walls: WallSetup, options: ConfinedLauncherOptions): RunnerLauncher {
  const limits = options.limits ?? DEFAULT_RUNNER_WALL_LIMITS;
  // 0711: runners (another uid) pass through to their scratch folder but cannot list the others.
  const work = mkdtempSync(join(options.workDir ?? tmpdir(), "chatbot-runners-"));
  chmodSync(work, 0o711);
  // The empty folder every runner's tmpfs root is mounted on, each in its own mount namespace.
  const rootDir = join(work, "root");
  mkdirSync(rootDir, { mode: 0o755 });
  const readOnlyByRunner = new Map<string, string[]>();
  let starts = 0;
  return {
    confined: true,
    launch(runnerPath, nodeArgs) {
      // The files the runner imports, found from its own imports once (~10 ms).
      let readOnly = readOnlyByRunner.get(runnerPath);
      if (readOnly === undefined) {
        readOnly = runnerProjectPaths(options.projectRoot, runnerPath);
        readOnlyByRunner.set(runnerPath, readOnly);
      }
      starts++;
      const uid = walls.identity.kind === "uid" ? randomRunnerUid() : undefined;
      const runAs = uid === undefined ? undefined : { uid, gid: uid };
      const scratchDir = mkdtempSync(join(work, "scratch-"));
      chmodSync(scratchDir, 0o700);
      if (runAs) chownSync(scratchDir, runAs.uid, runAs.gid);
      const cgroupDir =
        options.cgroupBase === undefined
          ? undefined
          : createRunnerCgroup(options.cgroupBase, `chatbot-runner-${process.pid}-${starts}`, options.cgroupLimits ?? DEFAULT_RUNNER_CGROUP_LIMITS);
      const release = () => {
        rmSync(scratchDir, { recursive: true, force: true });
        // cgroupfs refuses while a process is left in it; the runner's pid namespace ended with it.
        if (cgroupDir !== undefined) {
          try {
            removeRunnerCgroup(cgroupDir);
          } catch {
            // Left for the next host start's cleanup: an empty cgroup costs nothing.
          }
        }
      };
      const recipe = confinedSpawn({
        walls,
        limits,
        node: process.execPath,
        nodeArgs,
        script: runnerPath,
        scriptArgs: [],
        readOnly,
        scratchDir,
        rootDir,
        ...(runAs ? { runAs } : {}),
        ...(cgroupDir === undefined ? {} : { cgroupDir }),
      });
      return { ...recipe, env: { ...RUNNER_ENV }, release };
    },
    close: () => rmSync(work, { recursive: true, force: true }),
  };
}
