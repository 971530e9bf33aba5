// The esbuild plugin that keeps a bundle inside its sandbox contract (DESIGN §3.1, STYLE 3):
// `chatbot/std` is this package's guest library, Node built-ins are refused, and every other
// import must resolve to a file inside the bot folder (its own node_modules included).
// Errors returned from onResolve carry the import's file:line:column, added by esbuild.
// onLoad checks every file once more: glob-style dynamic imports (import(`../${x}.js`)) are
// expanded by esbuild without calling onResolve for each match.
import { builtinModules } from "node:module";
import { dirname, relative, isAbsolute, sep } from "node:path";
import type { Plugin } from "esbuild";

/** The one specifier a bot uses to reach the guest library. */
export const STD_SPECIFIER = "chatbot/std";

// Marks our own nested build.resolve() so the hook does not recurse into itself.
const NESTED = Symbol("chatbot-guard nested resolve");

/** True when `path` is `dir` itself or lies below it. */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`));
}

/** True for `node:*` and for every name Node ships as a built-in (`fs`, `fs/promises`, …). */
function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier);
}

/** The plugin for one build: `botDir` and `stdEntry` are absolute, real (symlink-free) paths. */
export function guardPlugin(botDir: string, stdEntry: string): Plugin {
  const stdDir = dirname(stdEntry);
  return {
    name: "chatbot-guard",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === NESTED || args.kind === "entry-point") return undefined;
        if (args.path === STD_SPECIFIER) return { path: stdEntry };
        if (args.path === "chatbot" || args.path.startsWith("chatbot/")) {
          return { errors: [{ text: `"${args.path}" cannot be imported by a bot; the guest library is "${STD_SPECIFIER}"` }] };
        }
        if (isNodeBuiltin(args.path)) {
          return {
            errors: [
              {
                text: `"${args.path}" is a Node built-in module: bots cannot use Node APIs (they run in a QuickJS sandbox; use bot.fetch, bot.state and the other "${STD_SPECIFIER}" APIs)`,
              },
            ],
          };
        }
        // The guest library is trusted and may import its own files wherever it is installed.
        if (isInside(stdDir, args.importer)) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          namespace: args.namespace,
          resolveDir: args.resolveDir,
          with: args.with,
          pluginData: NESTED,
        });
        // Unresolvable: let esbuild report its usual "Could not resolve" with the location.
        if (resolved.errors.length > 0 || resolved.path === "" || resolved.namespace !== "file") return undefined;
        if (!isInside(botDir, resolved.path) && !isInside(stdDir, resolved.path)) {
          return {
            errors: [
              {
                text: `imports must stay inside the bot folder: "${args.path}" resolves to ${relative(botDir, resolved.path) || resolved.path}`,
              },
            ],
          };
        }
        return {
          path: resolved.path,
          namespace: resolved.namespace,
          suffix: resolved.suffix,
          sideEffects: resolved.sideEffects,
          pluginData: resolved.pluginData,
        };
      });
      build.onLoad({ filter: /.*/, namespace: "file" }, (args) => {
        if (isInside(botDir, args.path) || isInside(stdDir, args.path)) return undefined;
        return {
          errors: [
            {
              text: `imports must stay inside the bot folder: ${relative(botDir, args.path) || args.path} was reached through an import pattern (a template literal in import() or require())`,
            },
          ],
        };
      });
    },
  };
}
