// The list of all commands, in the order `chatbot --help` shows them. Each is imported only when it
// runs: together they pull in esbuild, QuickJS, undici, openpgp and the mail stack (~1.2 s of CPU
// measured), while `chatbot new` needs ~60 ms of it and `host deliver`, run once per mail, ~40 ms.
// The path and summary are written here and in the command's module (the summary here so that
// `chatbot --help` loads no command); test/cli/command-registry.test.ts checks they agree.
import type { Command } from "../command.js";

/** A command's words, its one-line summary (for `chatbot --help`, which loads no command) and how to load it. */
export interface CommandEntry {
  path: readonly string[];
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { path: ["new"], summary: "create a bot folder from a template (default: echo)", load: async () => (await import("./new.js")).newCommand },
  { path: ["build"], summary: "bundle a bot folder into dist/bot.js", load: async () => (await import("./build.js")).buildCommand },
  { path: ["run"], summary: "run the bot once on a mail file (or a tick) in the real sandbox", load: async () => (await import("./run.js")).runCommand },
  { path: ["dev"], summary: "chat with the bot in the terminal (real sandbox, hot reload, /tick)", load: async () => (await import("./dev.js")).devCommand },
  {
    path: ["deploy"],
    summary: "upload a built bot into its account's ChatbotInstall folder for the relay's host",
    load: async () => (await import("./deploy.js")).deployCommand,
  },
  {
    path: ["host", "setup"],
    summary: "wire the host into this relay once, as root (--dry-run, --remove)",
    load: async () => (await import("./host-setup.js")).hostSetupCommand,
  },
  { path: ["host", "init"], summary: "create the host's data directory and config", load: async () => (await import("./host-init.js")).hostInitCommand },
  {
    path: ["host", "install"],
    summary: "install, upgrade or roll back a built bot (from a folder or from its account)",
    load: async () => (await import("./host-install.js")).hostInstallCommand,
  },
  {
    path: ["host", "remove"],
    summary: "take a bot off this host (its folder is kept under DIR/removed)",
    load: async () => (await import("./host-remove.js")).hostRemoveCommand,
  },
  {
    path: ["host", "route"],
    summary: "rewrite the Postfix transport table of the installed bots (host.json transportMap)",
    load: async () => (await import("./host-route.js")).hostRouteCommand,
  },
  {
    path: ["host", "deliver"],
    summary: "store one mail from stdin for bot ADDR in the spool (Postfix pipe; sysexits codes)",
    load: async () => (await import("./host-deliver.js")).hostDeliverCommand,
  },
  {
    path: ["host", "serve"],
    summary: "run the host service (LMTP in, sandbox, SMTP out, ticks)",
    load: async () => (await import("./host-serve.js")).hostServeCommand,
  },
  {
    path: ["host", "bots"],
    summary: "list installed bots with their origins, usage and spool",
    load: async () => (await import("./host-bots.js")).hostBotsCommand,
  },
  {
    path: ["host", "bots", "enable"],
    summary: "let a disabled bot run again",
    load: async () => (await import("./host-bots-settings.js")).hostBotsEnableCommand,
  },
  {
    path: ["host", "bots", "disable"],
    summary: "stop a bot (its mail goes to the dead letters)",
    load: async () => (await import("./host-bots-settings.js")).hostBotsDisableCommand,
  },
  {
    path: ["host", "bots", "approve-origin"],
    summary: "approve a fetch origin for a bot (or --global for all)",
    load: async () => (await import("./host-bots-settings.js")).hostBotsApproveOriginCommand,
  },
  {
    path: ["host", "bots", "revoke-origin"],
    summary: "take back an approved fetch origin",
    load: async () => (await import("./host-bots-settings.js")).hostBotsRevokeOriginCommand,
  },
  { path: ["host", "logs"], summary: "print or follow the host's log, for one bot or all", load: async () => (await import("./host-logs.js")).hostLogsCommand },
  {
    path: ["host", "qr"],
    summary: "print a bot account's invite link and QR code (--png FILE for an image)",
    load: async () => (await import("./host-qr.js")).hostQrCommand,
  },
  {
    path: ["host", "doctor"],
    summary: "check the walls around bot runners (namespaces, uid, rlimits, cgroup)",
    load: async () => (await import("./host-doctor.js")).hostDoctorCommand,
  },
];
