// One `host serve` per data directory: two would drain the same spool with no claim on an entry
// (the same mail run twice, two replies). `host serve` (with or without --once) takes an exclusive
// lock on <data>/serve.lock before it touches the spool; a second one exits with the holder's pid.
//
// The lock is a kernel lock, flock(2), not a lock file whose existence is the lock. Node 20 has no
// flock, so flock(1) (util-linux, in every Debian) takes it on an open file description that this
// process holds: we open the file and pass the descriptor to `flock --nonblock 3`; flock(2) locks
// belong to the open file description, which stays open in this process after flock(1) exits, so
// the lock lives exactly as long as this process (the descriptor is O_CLOEXEC, so the sandbox
// runners it spawns do not inherit it). The kernel drops it however the process ends — exit,
// SIGKILL, OOM, power cut — so there is no stale lock to detect and no takeover to race: a
// "pid file + is the pid alive?" scheme has both (two new instances that both judge the same lock
// stale can both take it over, and a reused pid looks alive).
//
// The file's content only names the holder for the second instance's message: pid, the start time
// of that pid in clock ticks since boot (/proc/<pid>/stat field 22) and the boot id. A recorded pid
// is named only while a process with that pid and that start time runs in this boot, so a reused
// pid is never named. The file is never deleted (deleting a lock file that another process has
// open is how two holders happen), and it is 0600 inside the 0700 data directory.
import { spawn } from "node:child_process";
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ChatbotError } from "../../core/errors.js";
import { parseJsonObject } from "../storage/json-object.js";

/** The lock file's name inside the data directory. */
export const LOCK_FILE_NAME = "serve.lock";
/** How often the refused instance re-reads a lock file that names no live holder yet (the holder writes it right after locking), times. */
const HOLDER_READ_TRIES = 20;
/** Pause between those reads, ms (20 × 25 ms: the holder's write is one syscall after its lock). */
const HOLDER_READ_PAUSE_MS = 25;

/** Who holds the lock, as written into the lock file. */
export interface LockHolder {
  pid: number;
  /** Start time of `pid`, clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
  /** /proc/sys/kernel/random/boot_id of the boot it ran in. */
  bootId: string;
  /** When it took the lock (ISO 8601), and its command line: for the operator. */
  since: string;
  command: string;
}

/** A held lock; `release()` lets the next `host serve` in (process exit does the same). */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/**
 * The pipeline process's lock (host serve's child, pipeline-process.ts): one pipeline per data
 * directory even when the `host serve` that started one was killed and a new one starts another
 * while the first still finishes its entry.
 */
export const PIPELINE_LOCK_FILE_NAME = "pipeline.lock";

export interface LockOptions {
  /** The flock(1) program (tests). */
  flock?: string;
  /** Which lock: serve.lock (default) or pipeline.lock. */
  name?: typeof LOCK_FILE_NAME | typeof PIPELINE_LOCK_FILE_NAME;
  /** Wait up to this long for the holder to let go, ms (default 0: refuse at once). */
  waitMs?: number;
}

/** Take the data directory's lock or throw E_CONFIG naming the process that holds it. */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  const name = options.name ?? LOCK_FILE_NAME;
  const file = join(dataDir, name);
  // O_RDWR | O_CREAT, no O_TRUNC: a refused instance must not erase the holder's record.
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EACCES") throw error;
    throw new ChatbotError(
      "E_CONFIG",
      `cannot open ${file}: it belongs to another user (was 'host serve' run as root on this data directory?); give it back to the host user, e.g. chown chatbot: ${file}`,
      { cause: error },
    );
  }
  try {
    if (!(await flockWithin(fd, options.flock ?? "flock", options.waitMs ?? 0))) {
      const holder = await liveHolder(file);
      if (name === PIPELINE_LOCK_FILE_NAME)
        throw new ChatbotError(
          "E_CONFIG",
          `the pipeline process of an earlier 'chatbot host serve' (${holder ? `pid ${holder.pid}` : "a process"}) still holds ${file} after ${Math.round((options.waitMs ?? 0) / 1000)} s; it exits once its entry in progress is done (kill ${holder ? holder.pid : "it"} if it hangs)`,
        );
      const who = holder ? `pid ${holder.pid}, running since ${holder.since}: ${holder.command}` : "a process whose pid it has not written yet";
      const stop = holder ? `stop it first (systemctl stop chatbot, or kill ${holder.pid})` : "stop it first";
      throw new ChatbotError(
        "E_CONFIG",
        `another 'chatbot host serve' holds ${file} (${who}). One host serve per data directory: two would run the same mails twice. To drain the spool by hand (--once), ${stop}; 'host deliver' and the other host commands need no lock and work beside it.`,
      );
    }
    const me = selfRecord();
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(me)}\n`, 0);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      closeSync(fd); // the last descriptor of the open file description: the kernel drops the lock
    },
  };
}

/** flockNonBlocking again every LOCK_RETRY_MS until `waitMs` passed; true when taken. */
async function flockWithin(fd: number, flock: string, waitMs: number): Promise<boolean> {
  const until = Date.now() + waitMs;
  for (;;) {
    if (await flockNonBlocking(fd, flock)) return true;
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}

/** Pause between tries of a lock that is waited for, ms. */
const LOCK_RETRY_MS = 200;

/** flock(LOCK_EX | LOCK_NB) on `fd` through flock(1); true when taken, false when someone else holds it. */
function flockNonBlocking(fd: number, flock: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // The descriptor becomes the child's fd 3: flock(1) locks the open file description we share.
    const child = spawn(flock, ["--exclusive", "--nonblock", "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT")
        reject(new ChatbotError("E_CONFIG", `'chatbot host serve' locks its data directory with flock(1), which is not installed: install util-linux`));
      else reject(new ChatbotError("E_CONFIG", `cannot lock the data directory: ${flock} failed to start (${error.message})`));
    });
    child.once("close", (code) => {
      if (code === 0) return resolve(true);
      // flock -n exits 1, silently, when another open file description holds the lock.
      if (code === 1 && stderr.trim() === "") return resolve(false);
      reject(new ChatbotError("E_CONFIG", `cannot lock the data directory: ${flock} exited ${code} (${stderr.trim()})`));
    });
  });
}

/** This process as the lock file records it. */
function selfRecord(): LockHolder {
  return {
    pid: process.pid,
    startTicks: startTicksOf(process.pid) ?? 0,
    bootId: bootId(),
    since: new Date().toISOString(),
    command: process.argv.slice(1).join(" "),
  };
}

/** The holder the lock file names, if that process still runs (same pid, same start time, same boot); waits briefly for a holder that has just locked. */
async function liveHolder(file: string): Promise<LockHolder | undefined> {
  for (let attempt = 0; attempt < HOLDER_READ_TRIES; attempt++) {
    const holder = readHolder(file);
    if (holder && holder.bootId === bootId() && startTicksOf(holder.pid) === holder.startTicks) return holder;
    await new Promise((resolve) => setTimeout(resolve, HOLDER_READ_PAUSE_MS));
  }
  return undefined;
}

/** The lock file's record, or undefined when it is empty or not one. */
export function readHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const value = parseJsonObject(text) as Partial<LockHolder> | undefined;
  if (!value || !Number.isInteger(value.pid) || !Number.isInteger(value.startTicks) || typeof value.bootId !== "string") return undefined;
  return { pid: value.pid!, startTicks: value.startTicks!, bootId: value.bootId, since: String(value.since ?? "?"), command: String(value.command ?? "?") };
}

/** Start time of a running process in clock ticks since boot, or undefined when there is no such process. */
export function startTicksOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  // The fields after it start at field 3; starttime is field 22 (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[22 - 3]);
  return Number.isInteger(ticks) ? ticks : undefined;
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}
