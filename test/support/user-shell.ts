// The environment of a new user's shell, for tests that run npm and the CLI as that user would:
// none of this test run's variables (vitest's, the npm that started it), no colours or npm chatter;
// and a shell line run in it.
import { spawn } from "node:child_process";

/** process.env without the test run's variables, plus `extra`. */
export function userShellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VITEST|VITE_|npm_|NODE_ENV$|NODE_OPTIONS$|TEST$|FORCE_COLOR$)/.test(key)));
  return { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

/** Run `command` (a bash line) in `cwd` with `env`; `input` is typed into it. `output` has stdout and stderr interleaved. */
export function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv, input = ""): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output, stdout }));
    // A command that exits without reading its input closes the pipe first: the write then fails
    // with EPIPE, which is not the command's failure (its exit code says that), and unheard it
    // would fail the whole test file as an unhandled error (seen with `command -v chatbot`).
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
