// The caps a confined runner starts under (issue 12). They live here, not in core/limits.ts, only
// until the walls are wired into the executor; then they move there with the other limits.

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What the OS allows one runner process; each cap is enforced by the kernel, not by our code. */
export interface RunnerWallLimits {
  /**
   * RLIMIT_AS, bytes. A runner at "ready" maps ~1.6 GiB (V8 code range and heap reservations, the
   * Worker's own heap, QuickJS WASM memory without its 10 GiB guard reservation, which V8 drops when
   * the reservation fails); under 1 GiB V8 aborts at start. Counts reservations, not resident memory.
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
  addressSpaceBytes: 4 * GiB,
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
