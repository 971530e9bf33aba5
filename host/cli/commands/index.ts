// The list of all commands, in the order `chatbot --help` shows them.
import type { Command } from "../command.js";
import { newCommand } from "./new.js";
import { buildCommand } from "./build.js";
import { runCommand } from "./run.js";
import { devCommand } from "./dev.js";
import { deployCommand } from "./deploy.js";
import { hostQrCommand } from "./host-qr.js";
import { hostDeliverCommand } from "./host-deliver.js";
import { hostInitCommand } from "./host-init.js";
import { hostInstallCommand } from "./host-install.js";
import { hostServeCommand } from "./host-serve.js";
import { hostBotsCommand } from "./host-bots.js";
import { hostBotsApproveOriginCommand, hostBotsDisableCommand, hostBotsEnableCommand, hostBotsRevokeOriginCommand } from "./host-bots-settings.js";
import { hostLogsCommand } from "./host-logs.js";
import { hostDoctorCommand } from "./host-doctor.js";

export const COMMANDS: readonly Command[] = [
  newCommand,
  buildCommand,
  runCommand,
  devCommand,
  deployCommand,
  hostInitCommand,
  hostInstallCommand,
  hostDeliverCommand,
  hostServeCommand,
  hostBotsCommand,
  hostBotsEnableCommand,
  hostBotsDisableCommand,
  hostBotsApproveOriginCommand,
  hostBotsRevokeOriginCommand,
  hostLogsCommand,
  hostQrCommand,
  hostDoctorCommand,
];
