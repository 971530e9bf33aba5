// The recipe's pure parts: which walls put which arguments on the command line, and how the view
// becomes the mount script's arguments. The walls themselves are tried in confine-probe.test.ts
// (one file, so its runs do not share the runner uid's task count with another file's).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { viewEntries } from "../../../host/confine/runner-view.js";
import { confinedSpawn, mountScriptArgs, type ConfinePlan, type WallSetup } from "../../../host/confine/spawn-recipe.js";
import { DEFAULT_RUNNER_WALL_LIMITS } from "../../../core/limits.js";

const TOOLS = { unshare: "/usr/bin/unshare", setpriv: "/usr/bin/setpriv", prlimit: "/usr/bin/prlimit", umount: "/usr/bin/umount", sh: "/usr/bin/sh" };
const ALL_UP: WallSetup = {
  tools: TOOLS,
  network: true,
  filesystem: true,
  identity: { kind: "uid", uid: 999, gid: 995 },
  resources: true,
  lifetime: true,
  systemFiles: [],
};

function plan(walls: WallSetup): ConfinePlan {
  return {
    walls,
    limits: DEFAULT_RUNNER_WALL_LIMITS,
    node: "/usr/bin/node",
    nodeArgs: ["--max-old-space-size=256"],
    script: "/usr/bin/node",
    scriptArgs: ["x"],
    readOnly: [],
    scratchDir: "/tmp/s",
    rootDir: "/tmp/r",
  };
}

describe("confinedSpawn", () => {
  it("as root with every wall up: setpriv --pdeathsig, unshare of net/mount/pid/ipc, the mount script, prlimit, setpriv to the runner's uid, node — and no host environment", () => {
    const recipe = confinedSpawn(plan(ALL_UP));
    expect(recipe.command).toBe("/usr/bin/setpriv");
    const line = recipe.args.join(" ");
    expect(line).toMatch(
      /^--pdeathsig=KILL -- \/usr\/bin\/unshare --net --mount --propagation=private --pid --fork --kill-child=SIGKILL --ipc --uts -- \/usr\/bin\/sh -c /,
    );
    expect(line).not.toContain("--user");
    const tail = recipe.args.slice(recipe.args.indexOf("/usr/bin/prlimit")).join(" ");
    expect(tail).toBe(
      `/usr/bin/prlimit --as=${2 ** 35} --nofile=64 --nproc=24 --fsize=${16 * 2 ** 20} --core=0 -- /usr/bin/setpriv --reuid=999 --regid=995 --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all --pdeathsig=KILL -- /usr/bin/node --max-old-space-size=256 /usr/bin/node x`,
    );
    expect(recipe.env).toEqual({ PATH: "/usr/bin:/bin", LANG: "C.UTF-8", TZ: "UTC" });
  });

  it("runAs gives one runner a uid of its own (the task cap counts per uid)", () => {
    const recipe = confinedSpawn({ ...plan(ALL_UP), runAs: { uid: 64_001, gid: 64_001 } });
    expect(recipe.args).toContain("--reuid=64001");
    expect(recipe.args).toContain("--regid=64001");
  });

  it("not root: a user namespace first, so the task count is the runner's own", () => {
    const recipe = confinedSpawn(plan({ ...ALL_UP, identity: { kind: "userns" } }));
    expect(recipe.args.slice(2, 6)).toEqual(["/usr/bin/unshare", "--user", "--map-root-user", "--net"]);
    expect(recipe.args.join(" ")).not.toContain("--reuid");
  });

  it("layers that are down are left out, never faked", () => {
    const recipe = confinedSpawn(plan({ ...ALL_UP, network: false, filesystem: false, identity: { kind: "none" }, resources: false, lifetime: false }));
    expect([recipe.command, ...recipe.args]).toEqual([
      "/usr/bin/setpriv",
      "--no-new-privs",
      "--",
      "/usr/bin/node",
      "--max-old-space-size=256",
      "/usr/bin/node",
      "x",
    ]);
  });
});

describe("the runner's view", () => {
  it("a symlinked directory on the way is recreated, a symlinked file is bound at its own name", () => {
    const dir = mkdtempSync(join(tmpdir(), "view-"));
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real", "lib.so.1.2"), "");
    symlinkSync("lib.so.1.2", join(dir, "real", "lib.so.1"));
    symlinkSync("real", join(dir, "lib"));
    expect(viewEntries([join(dir, "lib", "lib.so.1")])).toEqual([
      { kind: "link", path: join(dir, "lib"), target: "real" },
      { kind: "file", path: join(dir, "real", "lib.so.1"), source: join(dir, "real", "lib.so.1.2") },
    ]);
    rmSync(dir, { recursive: true });
  });

  it("the mount script gets one list of folders, files, links and an fstab with blanks escaped", () => {
    const args = mountScriptArgs(
      [
        { kind: "link", path: "/lib", target: "usr/lib" },
        { kind: "file", path: "/usr/lib/libc.so.6" },
        { kind: "dir", path: "/srv/my app/lib" },
      ],
      "/tmp/scratch dir",
    );
    expect(args.dirs.split("\n")).toEqual(["proc", "dev", "tmp/scratch dir", "usr/lib", "srv/my app/lib"]);
    expect(args.files.split("\n")).toEqual(["usr/lib/libc.so.6", "dev/null", "dev/zero", "dev/urandom"]);
    expect(args.links).toBe("lib\nusr/lib");
    expect(args.fstab).toContain("/srv/my\\040app/lib /srv/my\\040app/lib none bind,ro,nosuid,nodev 0 0\n");
    expect(args.fstab).toContain("/tmp/scratch\\040dir /tmp/scratch\\040dir none bind,nosuid,nodev 0 0\n");
  });

  it("a path with a newline is refused", () => {
    expect(() => mountScriptArgs([{ kind: "file", path: "/a\nb" }], "/tmp/s")).toThrow(/newlines/);
  });
});
