// `chatbot host deliver` as a program of its own: `make build` bundles this file and everything it
// imports (node: built-ins, the spool, paths, limits, errors) into lib/deliver.cjs with esbuild.
// Postfix pipe(8) starts one process per mail; one file instead of ~15 ES modules to resolve, read
// and link is most of what a delivery costs beyond starting node (DESIGN §2; `make bench` phase 8).
// Arguments as `chatbot host deliver` takes them; a leading "host deliver" is accepted too, so
// `node lib/deliver.cjs host deliver …` and `chatbot host deliver …` are the same command line.
import { hostDeliverCommand } from "./commands/host-deliver.js";
import { runCommand } from "./run-command.js";

const args = process.argv.slice(2);
const rest = args[0] === "host" && args[1] === "deliver" ? args.slice(2) : args;
runCommand(hostDeliverCommand, rest, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
}).then((code) => {
  process.exitCode = code;
});
