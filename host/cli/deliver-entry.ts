// `chatbot host deliver` as a program of its own: `make build` bundles this file and everything it
// imports (node: built-ins, the spool, paths, limits, errors) into lib/deliver.cjs with esbuild.
// Postfix pipe(8) starts one process per mail; one file instead of ~15 ES modules to resolve, read
// and link is most of what a delivery costs beyond starting node (DESIGN §2; `make bench` phase 8).
// Arguments as `chatbot host deliver` takes them; a leading "host deliver" is accepted too, so
// `node lib/deliver.cjs host deliver …` and `chatbot host deliver …` are the same command line.
import { hostDeliverCommand } from "./commands/host-deliver.js";
import { runAsProgram } from "./run-command.js";

runAsProgram(hostDeliverCommand);
