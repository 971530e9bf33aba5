// The README's systemd unit, checked by systemd's own parser: `systemd-analyze verify` warns about
// an unknown or misspelled key ("Unknown key 'ProtectSytem'") and a bad value, which systemd would
// otherwise ignore at start, silently dropping that hardening line. There is no systemd running
// here to start the unit under; the operator recipe runs its ExecStart as its User=.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { routesReloadUnits, systemdUnit } from "../../host/setup/systemd-unit.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const ANALYZE = "/usr/bin/systemd-analyze";

/** The README's one ```ini block: the chatbot.service unit. */
function readmeUnit(): string {
  const blocks = [...readFileSync(README, "utf8").matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
}

/** What systemd-analyze verify says of the unit files `units` (name → text), checked together: exit status and its output. */
function verifyUnits(units: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "unit-"));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, name), text);
  const result = spawnSync(ANALYZE, ["verify", "--man=no", ...Object.keys(units).map((name) => join(dir, name))], { encoding: "utf8", cwd: dir });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** What systemd-analyze verify says of `text` as chatbot.service. */
function verify(text: string): { status: number | null; output: string } {
  return verifyUnits({ "chatbot.service": text });
}

describe.skipIf(!existsSync(ANALYZE))("README systemd unit", () => {
  it("systemd-analyze verify accepts every line of it, the hardening included", () => {
    const unit = readmeUnit();
    for (const key of [
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "PrivateTmp=yes",
      "ProtectHome=yes",
      "RestrictAddressFamilies=",
      "MemoryMax=",
      "TasksMax=",
      "Delegate=yes",
    ]) {
      expect(unit).toContain(key);
    }
    expect(verify(unit)).toEqual({ status: 0, output: "" });
  });

  it("host setup's path unit and its postfix reload service are accepted too", () => {
    const units = routesReloadUnits("/var/lib/chatbot-routes");
    const { output } = verifyUnits({ "chatbot-routes.path": units.path, "chatbot-routes.service": units.service });
    // postfix itself may be missing where this runs; systemd then says so for ExecStart, nothing else.
    const complaints = output
      .split("\n")
      .filter((line) => line !== "" && !/Command \/usr\/sbin\/postfix is not executable|not executable: No such file/.test(line));
    expect(complaints).toEqual([]);
  });

  it("the check can fail: a misspelled hardening key is reported", () => {
    const broken = readmeUnit().replace("ProtectSystem=strict", "ProtectSytem=strict");
    expect(verify(broken).output).toMatch(/Unknown key 'ProtectSytem'/);
  });
});

describe("README systemd unit and host setup", () => {
  it("is exactly the unit `chatbot host setup` writes for the default places (one text, two readers)", () => {
    expect(readmeUnit()).toBe(
      systemdUnit({
        user: "chatbot",
        node: "/usr/bin/node",
        cli: "/opt/chatbot/lib/host/cli/main.js",
        dataDir: "/var/lib/chatbot",
        socketDir: "/var/spool/postfix/chatbot",
        routesDir: "/var/lib/chatbot-routes",
        deployDir: "/var/lib/chatbot-deploy",
      }),
    );
  });
});
