// The list of all commands, in the order `chatbot --help` shows them. Each is imported only when it
// runs: together they pull in esbuild, QuickJS, undici, openpgp and the mail stack (~1.2 s of CPU
// measured), while `chatbot new` needs ~60 ms of it and `host deliver`, run once per mail, ~40 ms.
// The path is written here and in the command's module; test/cli/command-registry.test.ts checks they agree.
import type { Command } from "../command.js";

/** A command's words and how to load it. */
export interface CommandEntry {
  path: readonly string[];
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { path: ["new"], load: async () => (await import("./new.js")).newCommand },
  { path: ["build"], load: async () => (await import("./build.js")).buildCommand },
  { path: ["run"], load: async () => (await import("./run.js")).runCommand },
  { path: ["dev"], load: async () => (await import("./dev.js")).devCommand },
  { path: ["deploy"], load: async () => (await import("./deploy.js")).deployCommand },
  { path: ["host", "setup"], load: async () => (await import("./host-setup.js")).hostSetupCommand },
  { path: ["host", "init"], load: async () => (await import("./host-init.js")).hostInitCommand },
  { path: ["host", "install"], load: async () => (await import("./host-install.js")).hostInstallCommand },
  { path: ["host", "remove"], load: async () => (await import("./host-remove.js")).hostRemoveCommand },
  { path: ["host", "route"], load: async () => (await import("./host-route.js")).hostRouteCommand },
  { path: ["host", "deliver"], load: async () => (await import("./host-deliver.js")).hostDeliverCommand },
  { path: ["host", "serve"], load: async () => (await import("./host-serve.js")).hostServeCommand },
  { path: ["host", "bots"], load: async () => (await import("./host-bots.js")).hostBotsCommand },
  { path: ["host", "bots", "enable"], load: async () => (await import("./host-bots-settings.js")).hostBotsEnableCommand },
  { path: ["host", "bots", "disable"], load: async () => (await import("./host-bots-settings.js")).hostBotsDisableCommand },
  { path: ["host", "bots", "approve-origin"], load: async () => (await import("./host-bots-settings.js")).hostBotsApproveOriginCommand },
  { path: ["host", "bots", "revoke-origin"], load: async () => (await import("./host-bots-settings.js")).hostBotsRevokeOriginCommand },
  { path: ["host", "logs"], load: async () => (await import("./host-logs.js")).hostLogsCommand },
  { path: ["host", "qr"], load: async () => (await import("./host-qr.js")).hostQrCommand },
  { path: ["host", "doctor"], load: async () => (await import("./host-doctor.js")).hostDoctorCommand },
];
