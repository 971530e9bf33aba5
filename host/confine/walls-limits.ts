// The caps a confined runner starts under (issue 12). They live here, not in core/limits.ts, only
// until the walls are wired into the executor; then they move there with the other limits.

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What the OS allows one runner process; each cap is enforced by the kernel, not by our code. */
export interface RunnerWallLimits {
  /**
   * RLIMIT_AS, bytes: address space, reservations included, not resident memory. Measured on Node
   * 20 (x64): a runner at "ready" maps ~12 GiB (V8's code range and heap reservations, which V8
   * shrinks under a lower cap, but no further than 1 GiB), and every WebAssembly.Memory reserves
   * ~10 GiB more (8 GiB plus guard pages: V8 bounds-checks WASM by trapping, and Node 20 has no
   * switch to turn that off). A QuickJS slot is such a memory, and another bot's event gets a new
   * one before the old is collected, so the cap admits the runner and two memories: 32 GiB (at
   * 16 GiB no event ran; at 24 GiB, 100 bot switches in a row still ran, V8 collecting the old
   * memory to retry). Resident memory is capped by QuickJS's memory maximum, V8's heap limit and,
   * where delegated, the runner cgroup's memory.max.
   */
  addressSpaceBytes: number;
  /** RLIMIT_NOFILE: open descriptors (a runner at "ready" holds ~20: epoll, eventfds, IPC, wasm files). */
  openFiles: number;
  /**
   * RLIMIT_NPROC: tasks (threads count) of the runner's uid, counted inside its user namespace when it
   * has one, else across every process of that uid (so, as root, give each concurrent runner its own
   * uid or raise this). A runner at "ready" has 12 threads (main, four V8 platform workers, the
   * sandbox Worker and its helpers), may add libuv's four pool threads and briefly a second Worker
   * while one is replaced; a Node child needs ~7 more. Forks past the cap fail with EAGAIN.
   */
  tasks: number;
  /** RLIMIT_FSIZE, bytes: the largest file a runner may write (it needs none; its scratch dir is for Node). */
  fileSizeBytes: number;
  /** Size of the tmpfs that is the runner's root, bytes: it holds only mount points and symlinks. */
  rootTmpfsBytes: number;
}

/** Caps of a delegated cgroup v2 per runner, written to memory.max, pids.max and cpu.max. */
export interface RunnerCgroupLimits {
  /** memory.max, bytes: resident memory of the runner (V8 heaps + the QuickJS WASM memories). */
  memoryMaxBytes: number;
  /** pids.max: tasks in the cgroup (threads count), the same budget as RunnerWallLimits.tasks. */
  pidsMax: number;
  /** cpu.max quota per period, µs: 100 000 of 100 000 is one CPU. */
  cpuQuotaUs: number;
  /** cpu.max period, µs. */
  cpuPeriodUs: number;
}

export const DEFAULT_RUNNER_WALL_LIMITS: RunnerWallLimits = Object.freeze({
  addressSpaceBytes: 32 * GiB,
  openFiles: 64,
  tasks: 24,
  fileSizeBytes: 16 * MiB,
  rootTmpfsBytes: 1 * MiB,
});

export const DEFAULT_RUNNER_CGROUP_LIMITS: RunnerCgroupLimits = Object.freeze({
  memoryMaxBytes: 512 * MiB,
  pidsMax: 24,
  cpuQuotaUs: 100_000,
  cpuPeriodUs: 100_000,
});

/**
 * The uids (and gids: the same numbers) runners run as when the host is root: a new one per runner
 * start, round the range. None is in /etc/passwd or /etc/group, so no file and no other process on
 * the machine belongs to them, and RLIMIT_NPROC (counted per uid) counts one runner's tasks only,
 * also while a killed runner is still exiting beside its replacement. 2 000 000 000 is far above
 * the ranges Debian and systemd hand out (system < 1000, users < 60 000, DynamicUser 61184–65519).
 */
export const RUNNER_UIDS = Object.freeze({ first: 2_000_000_000, count: 1000 });
