// Running a system tool the host or `host setup` needs (postmap, postconf, adduser, systemctl):
// its output, trimmed; a failure says what the tool said on stderr ("postmap: fatal: open …:
// Permission denied"), not the noise around it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { errorMessage } from "../../core/errors.js";

const execFileAsync = promisify(execFile);

/** Run `command args` (no shell); resolves with its stdout, trimmed. */
export async function runTool(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, [...args], { env: options.env ?? process.env, timeout: options.timeoutMs, encoding: "utf8" });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || errorMessage(error));
  }
}
