// `make registry`: this checkout's packages on a registry of your own, so the README's quick start
// (`npm create @chatbot-host@latest …`) runs as written before (or without) a public release. It
// starts Verdaccio on 127.0.0.1 (every other package comes from your usual registry through it),
// publishes @chatbot-host/chatbot and @chatbot-host/create from lib/, prints the line to paste
// into another shell, and keeps the registry up until Ctrl-C.
import { startLocalRegistry } from "../support/local-registry.js";
import { publishCheckout } from "../support/publish-local.js";

const registry = await startLocalRegistry();
await publishCheckout(registry);
process.stdout.write(
  [
    `A registry with this checkout's @chatbot-host/chatbot and @chatbot-host/create runs at ${registry.url}`,
    "In another shell, then run the README's quick start as written:",
    "",
    `  export npm_config_registry=${registry.url}`,
    "",
    "Ctrl-C stops it (what it stored goes with it).",
    "",
  ].join("\n"),
);
const stop = async () => {
  await registry.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
setInterval(() => {}, 60_000);
