// What `host serve` loads at its start (issue 15: a host at rest costs little): neither undici (the
// bots' fetch, ~0.15 s of CPU and ~8 MiB) nor imapflow (state copies, deploys, notices: ~0.12 s and
// ~7 MiB) until a bot fetches or the host logs in to an account. The spawned serve runs one pass
// (--once) over a spool holding a mail, as after a restart.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { Spool } from "../../host/spool/spool.js";
import { captureIo } from "../support/cli-io.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "lib/host/cli/main.js");
const RECORD_IMPORTS = join(ROOT, "test/support/record-imports.mjs");

/** Run the compiled CLI with the import recorder; the exit code and every resolved URL. */
async function recordedRun(args: string[]): Promise<{ code: number | null; stderr: string; urls: string[] }> {
  const out = join(mkdtempSync(join(tmpdir(), "serve-imports-")), "urls.txt");
  writeFileSync(out, "");
  const child = spawn(process.execPath, ["--import", RECORD_IMPORTS, CLI, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: "/usr/bin:/bin", RECORD_IMPORTS_TO: out, NODE_ENV: "production" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr, urls: [...new Set(readFileSync(out, "utf8").split("\n").filter(Boolean))] };
}

describe("host serve's start", () => {
  it("loads neither undici nor imapflow: they come with a bot's first fetch and the host's first IMAP login", async () => {
    const dir = mkdtempSync(join(tmpdir(), "serve-imports-"));
    const data = join(dir, "data");
    expect(await runCli(["host", "init", "--data-dir", data], captureIo(dir))).toBe(0);
    const spool = new Spool(join(data, "spool"), { now: () => Date.now() });
    await spool.write("nobody@chat.test", new TextEncoder().encode("Subject: x\r\n\r\nx\r\n"), 1000);

    const { code, stderr, urls } = await recordedRun(["host", "serve", "--once", "--no-lmtp", "--data-dir", data]);
    expect(code, stderr).toBe(0);
    const packages = new Set(urls.filter((url) => url.includes("/node_modules/")).map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]));
    // The control: the recorder sees the packages serve does load.
    expect(packages).toContain("openpgp");
    expect(packages).toContain("mailparser");
    expect(packages).not.toContain("undici");
    expect(packages).not.toContain("imapflow");
  });
});
