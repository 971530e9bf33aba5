#!/usr/bin/env node
// `npm create @chatbot-host@latest mybot -- --template faq`: `chatbot new mybot --template faq` of
// the chatbot package this initializer was released with (the same version: package.json). The
// new bot then depends on that package under the name "chatbot" (an npm alias).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const root = dirname(createRequire(import.meta.url).resolve("@chatbot-host/chatbot/package.json"));
const args = process.argv.slice(2);
const result = spawnSync(process.execPath, [join(root, "lib", "host", "cli", "main.js"), "new", ...(args.length === 0 ? ["--help"] : args)], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
