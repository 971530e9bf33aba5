// `host serve`'s pipeline process as a program of its own: `make build` bundles this file and what
// it imports (the mail stack, OpenPGP, the executor, the stores, and the npm packages among them)
// into lib/host/pipeline.mjs with esbuild, and the door starts that file (serve-door.ts). The door
// starts a pipeline at each wake after a rest (pipeline-rest.ts), so its start is paid per wake: as
// ~560 ES and CommonJS modules it took 0.7–0.9 s of CPU to load, as one file ~0.4 s (2026-12-06,
// `node --optimize-for-size`, import alone). imapflow stays outside, imported at the first login
// (imap-mailbox.ts), and so would esbuild, which the pipeline never uses. The file lives in
// lib/host/ so that code finding files beside itself (compiled-file.ts, package-root.ts) finds them
// as from the unbundled modules.
// Arguments as `chatbot host serve` takes them; a leading "host serve" is accepted too.
import { hostServeCommand } from "./commands/host-serve.js";
import { runAsProgram } from "./run-command.js";

runAsProgram(hostServeCommand);
