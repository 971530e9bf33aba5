// `chatbot host serve` as its own process, as systemd runs it, for end-to-end tests: every event it
// logs on stdout (one JSON object per line) is kept in order and handed to `onEvent`, its stderr
// is kept for failure messages.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { until } from "./poll.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));

/** One logged event: its name and typed fields (host/service/host-event.ts). */
export type ServeEvent = Record<string, unknown> & { event: string };

export interface ServeProcess {
  child: ChildProcess;
  /** Every event the service logged so far, in order. */
  events: ServeEvent[];
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves once it logged service.started. */
  started(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Start `chatbot host serve --data-dir DATA …args`; `onEvent` sees each event as it is logged.
 * `as`: the uid and gid to run it as (a service user, as systemd's User= does; default this
 * process's) and variables to add to its environment (e.g. MAIL_CONFIG for a test relay's Postfix).
 */
export function spawnServe(
  data: string,
  args: string[] = [],
  onEvent: (event: ServeEvent) => void = () => {},
  as: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): ServeProcess {
  // NODE_ENV=production: under vitest or vite-node openpgp.js would print debug traces.
  const child = spawn(process.execPath, [CLI, "host", "serve", "--data-dir", data, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...as.env, NODE_ENV: "production" },
    ...(as.uid === undefined ? {} : { uid: as.uid, cwd: "/" }),
    ...(as.gid === undefined ? {} : { gid: as.gid }),
  });
  const events: ServeEvent[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      const event = JSON.parse(line) as ServeEvent;
      events.push(event);
      onEvent(event);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    events,
    stderr: () => stderr,
    started: async (timeoutMs = 30_000) => {
      await until(() => events.some((e) => e.event === "service.started") || child.exitCode !== null, "host serve to start", timeoutMs).catch(
        (error: Error) => {
          throw new Error(`${error.message}; its stderr: ${stderr.slice(-2000)}`);
        },
      );
      if (child.exitCode !== null) throw new Error(`host serve exited with ${child.exitCode}: ${stderr.slice(-2000)}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
