// /proc readings for the service phase: CPU of whole process trees (a daemon and everything it
// forked, including children that exited and were reaped meanwhile) and of the whole machine.
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** USER_HZ: /proc reports CPU times in these ticks (100 on every Linux we run on). */
const TICKS_PER_S = 100;

/** The fields of /proc/<pid>/stat after the command name (which is in parentheses and may contain spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // exited meanwhile
  }
}

/** Every live process's parent: pid → ppid. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (fields) map.set(Number(name), Number(fields[1]));
  }
  return map;
}

/** `pid` and all its live descendants. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [child, parent] of parents()) byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const child of byParent.get(p) ?? []) walk(child);
  };
  walk(pid);
  return out;
}

/**
 * CPU (user + system) of `pid` and its descendants so far, ms: each live process's own time plus
 * what its reaped children used (cutime + cstime). The difference of two readings is what the tree
 * used in between, even when short-lived children (Postfix's smtpd, cleanup, lmtp) came and went.
 */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const f = statFields(p);
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (ticks * 1000) / TICKS_PER_S;
}

/** CPU (user + system) of `pid` alone, without children, ms. */
export function ownCpuMs(pid: number): number {
  const f = statFields(pid);
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S : NaN;
}

/** Busy CPU time of the whole machine (all cores, everything but idle and iowait), ms. */
export function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return ((user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 1000) / TICKS_PER_S;
}

/** The pid in a daemon's pid file (first line), if it is running. */
export function pidFromFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]!.trim());
  return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}
