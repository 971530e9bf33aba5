// A real npm registry on 127.0.0.1 for the distribution tests: Verdaccio 6.8.0 (a devDependency;
// its `node-fetch` is overridden to 2.7.0 so it runs on Node 20). This project's packages
// (@chatbot-host/*) live only here and are published to it by the test; every other package is
// proxied from the registry npm uses on this machine, so a new user's `npm install` resolves
// exactly as it would from the public registry. One user, made at start, publishes.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "./poll.js";

const VERDACCIO = fileURLToPath(new URL("../../node_modules/verdaccio/bin/verdaccio", import.meta.url));

export interface LocalRegistry {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** A token that may publish (for an .npmrc: `//127.0.0.1:PORT/:_authToken=TOKEN`). */
  token: string;
  /** The .npmrc lines that make this the only registry, logged in. */
  npmrc: string;
  /** What Verdaccio printed (for failures). */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Start Verdaccio; `upstream` is where other packages come from (default: npm's configured registry). */
export async function startLocalRegistry(upstream = process.env.npm_config_registry ?? "https://registry.npmjs.org/"): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "local-registry-"));
  mkdirSync(join(dir, "storage"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  writeFileSync(
    join(dir, "config.yaml"),
    [
      `storage: ${join(dir, "storage")}`,
      "auth:",
      "  htpasswd:",
      `    file: ${join(dir, "htpasswd")}`,
      "    max_users: 1",
      "uplinks:",
      "  upstream:",
      `    url: ${upstream}`,
      "    timeout: 60s",
      "packages:",
      "  '@chatbot-host/*':",
      "    access: $all",
      "    publish: $authenticated",
      "  '**':",
      "    access: $all",
      "    publish: $authenticated",
      "    proxy: upstream",
      "log: { type: stdout, format: pretty, level: warn }",
      "",
    ].join("\n"),
  );
  let output = "";
  const child: ChildProcess = spawn(process.execPath, [VERDACCIO, "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode}: ${output.slice(-2000)}`);
        return fetch(`${url}-/ping`).then(
          (response) => response.ok,
          () => false,
        );
      },
      "verdaccio to answer",
      30_000,
    );
    // The one user who publishes (npm adduser does this PUT).
    const response = await fetch(`${url}-/user/org.couchdb.user:publisher`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "publisher", password: "publisher-password", type: "user", roles: [], date: new Date().toISOString() }),
    });
    const { token } = (await response.json()) as { token?: string };
    if (!response.ok || !token) throw new Error(`verdaccio refused the publisher: ${response.status} ${output.slice(-2000)}`);
    const host = url.replace(/^http:/, "");
    return { url, token, npmrc: `registry=${url}\n${host}:_authToken=${token}\n`, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
