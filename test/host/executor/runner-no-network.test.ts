// Issue 12, part 1: the runner (its process and its sandbox worker) needs no network, so it can
// live in a network namespace with nothing but `lo`. Checked on the module graph esbuild resolves
// from the two entry points: no undici, no host/fetch, no Node module that opens a socket or resolves a name.
// node:net is the one exception, in the runner process only: it wraps the two inherited pipe fds of
// the host's channel (new Socket({ fd }), message-frames.ts); the runner's own code never calls
// connect, createConnection, createServer or listen (checked below), and inside its network
// namespace there would be nothing to reach anyway.
import { buildSync } from "esbuild";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const NETWORK_MODULES = ["node:dns", "node:dns/promises", "node:http", "node:https", "node:http2", "node:tls", "node:dgram"];

/** Every module the entry `path` (relative to the repository) loads: bundled inputs and external (Node) imports. */
function moduleGraph(path: string): { inputs: string[]; external: string[] } {
  const entry = fileURLToPath(new URL(`../../../${path}`, import.meta.url));
  const { metafile } = buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent" });
  const external = new Set<string>();
  for (const input of Object.values(metafile.inputs)) for (const imported of input.imports) if (imported.external) external.add(imported.path);
  return { inputs: Object.keys(metafile.inputs), external: [...external] };
}

describe("the runner opens no socket of its own (issue 12)", () => {
  for (const entry of ["host/executor/runner-process.ts", "host/executor/sandbox-worker.ts"]) {
    it(`${entry} loads neither undici, nor host/fetch, nor a Node network module`, () => {
      const graph = moduleGraph(entry);
      expect(graph.inputs.filter((input) => input.includes("undici") || input.includes("host/fetch/"))).toEqual([]);
      expect(graph.external.filter((name) => NETWORK_MODULES.includes(name.startsWith("node:") ? name : `node:${name}`))).toEqual([]);
      const netUsers = graph.inputs.filter((input) =>
        /from "node:net"/.test(readFileSync(fileURLToPath(new URL(`../../../${input}`, import.meta.url)), "utf8")),
      );
      expect(netUsers).toEqual(entry.endsWith("runner-process.ts") ? ["host/executor/runner-process.ts"] : []);
      for (const input of netUsers) {
        expect(readFileSync(fileURLToPath(new URL(`../../../${input}`, import.meta.url)), "utf8")).not.toMatch(
          /\b(connect|createConnection|createServer|listen)\s*\(/,
        );
      }
    });
  }
});
