// The cgroup layer against a stand-in cgroupfs (a temporary folder): what counts as a delegated
// subtree, and the files a runner's cgroup gets. The real cgroupfs is tried by detectWalls.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimDelegatedCgroup, createRunnerCgroup, findDelegatedCgroup, HOST_LEAF } from "../../../host/confine/runner-cgroup.js";
import { DEFAULT_RUNNER_CGROUP_LIMITS } from "../../../core/limits.js";

/** A fake cgroup v2 mount with this process in /system.slice/chatbot.service. */
function fakeCgroupfs(subtreeControl: string | null) {
  const root = mkdtempSync(join(tmpdir(), "cgroupfs-"));
  const mount = join(root, "cgroup");
  const own = join(mount, "system.slice", "chatbot.service");
  mkdirSync(own, { recursive: true });
  if (subtreeControl !== null) {
    writeFileSync(join(mount, "cgroup.controllers"), "cpuset cpu io memory pids\n");
    writeFileSync(join(own, "cgroup.subtree_control"), subtreeControl);
  }
  const selfFile = join(root, "self-cgroup");
  writeFileSync(selfFile, "0::/system.slice/chatbot.service\n");
  return { paths: { mount, selfFile }, own };
}

describe("runner cgroup", () => {
  it("a delegated cgroup with memory, pids and cpu enabled for its children is usable", () => {
    const { paths, own } = fakeCgroupfs("cpu memory pids\n");
    expect(findDelegatedCgroup(paths)).toEqual({ usable: true, dir: own });
  });

  it("without cgroup v2 mounted (v1 or hybrid) the layer is down with a fix", () => {
    const { paths } = fakeCgroupfs(null);
    expect(findDelegatedCgroup(paths)).toMatchObject({
      usable: false,
      why: expect.stringContaining("not mounted"),
      fix: expect.stringContaining("Delegate=yes"),
    });
  });

  it("a delegated cgroup missing a controller is down, and the fix names it", () => {
    const { paths } = fakeCgroupfs("cpu\n");
    expect(findDelegatedCgroup(paths)).toMatchObject({
      usable: false,
      why: expect.stringContaining("memory, pids are not enabled"),
      fix: expect.stringContaining("+memory +pids"),
    });
  });

  it("a runner's cgroup gets memory.max, pids.max and cpu.max, written directly to cgroupfs", () => {
    const { own } = fakeCgroupfs("cpu memory pids\n");
    const dir = createRunnerCgroup(own, "runner-1", DEFAULT_RUNNER_CGROUP_LIMITS);
    expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe(`${512 * 1024 * 1024}\n`);
    expect(readFileSync(join(dir, "pids.max"), "utf8")).toBe(`${DEFAULT_RUNNER_CGROUP_LIMITS.pidsMax}\n`);
    expect(readFileSync(join(dir, "cpu.max"), "utf8")).toBe("100000 100000\n");
  });

  it("host serve claims a delegated cgroup whose controllers are not enabled yet: it moves into a leaf, then enables them for its cgroup's children", () => {
    const { paths, own } = fakeCgroupfs("");
    writeFileSync(join(own, "cgroup.controllers"), "cpu io memory pids\n");
    expect(findDelegatedCgroup(paths).usable).toBe(false);
    expect(claimDelegatedCgroup(paths, 4242)).toEqual({ usable: true, dir: own });
    expect(readFileSync(join(own, HOST_LEAF, "cgroup.procs"), "utf8")).toBe("4242\n");
    expect(readFileSync(join(own, "cgroup.subtree_control"), "utf8")).toBe("+memory +pids +cpu");
  });

  it("a claim the parent cannot grant (a controller missing from cgroup.controllers) or cannot write is down with why", () => {
    const partial = fakeCgroupfs("");
    writeFileSync(join(partial.own, "cgroup.controllers"), "cpu\n");
    expect(claimDelegatedCgroup(partial.paths, 4242)).toMatchObject({ usable: false, why: expect.stringContaining("cannot enable memory, pids") });
    if (process.getuid?.() === 0) return; // root writes a read-only file anyway
    const locked = fakeCgroupfs("");
    writeFileSync(join(locked.own, "cgroup.controllers"), "cpu io memory pids\n");
    chmodSync(join(locked.own, "cgroup.subtree_control"), 0o444);
    expect(claimDelegatedCgroup(locked.paths, 4242).usable).toBe(false);
  });
});
