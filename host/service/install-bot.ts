// Installing a checked bundle folder for an account: what `chatbot host install DIR` and the deploy
// watcher (`chatbot deploy`) both do. The version before becomes previous/ (for --rollback), the
// settings in bot.json are kept, bot.json is written last (the service reloads a bot when its
// bot.json changes).
import { cp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import type { Manifest } from "../../core/manifest.js";
import { ChatbotError } from "../../core/errors.js";
import { renameDurable, syncTree } from "../spool/durable-fs.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";
import { openBotAccount } from "../wire/bot-account.js";
import type { HostConfig } from "./host-config.js";
import { readBundleFolder, type BotSettings } from "./installed-bots.js";
import { hostPaths } from "./paths.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { checkRelayQuotas, recordDeploy } from "./relay-quotas.js";
import { syncTransportMap } from "./transport-map.js";

/** chatmail's rule for account passwords, characters. */
export const PASSWORD_MIN_CHARS = 9;

/** What an install did. */
export interface InstallResult {
  manifest: Manifest;
  /** True when a version was installed before (it is now previous/). */
  upgrade: boolean;
  settings: BotSettings;
  /** Origins the manifest asks for that nobody approved yet. */
  pendingOrigins: string[];
}

/**
 * Install the bundle folder `dist` (checked with readBundleFolder against the host's ceilings)
 * for `addr`, within the relay's quotas (relay-quotas.ts: E_QUOTA over one), and route it in the
 * host's transport table when it keeps one. A new bot needs `password`; a given one replaces the stored one.
 */
export async function installBundle(
  dataDir: string,
  config: Pick<HostConfig, "ceilings" | "approvedOrigins" | "quotas" | "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir">,
  addr: string,
  dist: string,
  options: { password?: string; name?: string; clock?: Clock } = {},
): Promise<InstallResult> {
  const paths = hostPaths(dataDir).bot(addr);
  const { manifest } = await readBundleFolder(dist, config);
  const old = await readJsonFile<BotSettings | undefined>(paths.config, undefined);
  if (!old && options.password === undefined) throw new ChatbotError("E_USAGE", `${addr} is a new bot: it needs its account's password`);
  if (options.password !== undefined && options.password.length < PASSWORD_MIN_CHARS) {
    throw new ChatbotError("E_USAGE", `the password of ${addr} must have at least ${PASSWORD_MIN_CHARS} characters (chatmail's rule)`);
  }
  // The relay's quotas for unattended bots, before anything is written (relay-quotas.ts).
  const now = (options.clock ?? systemClock).now();
  await checkRelayQuotas(dataDir, config.quotas, addr, dist, now);
  const name = options.name ?? old?.name ?? manifest.name;
  await openBotAccount(dataDir, addr, name); // creates the key and folder (0700)
  if (options.password !== undefined) await writePrivateFile(paths.password, Buffer.from(options.password));
  // Copy first, then two renames: the window in which no current/ exists is as short as it gets.
  const staging = `${paths.current}.new`;
  await rm(staging, { recursive: true, force: true });
  await cp(dist, staging, { recursive: true });
  await syncTree(staging);
  const upgrade = existsSync(paths.current);
  if (upgrade) {
    await rm(paths.previous, { recursive: true, force: true });
    await renameDurable([
      [paths.current, paths.previous],
      [staging, paths.current],
    ]);
  } else {
    await renameDurable([[staging, paths.current]]);
  }
  // An upgrade keeps every operator setting (a disable and its reason, approvals, keys this
  // version does not know): an author's deploy must never undo what the operator decided.
  const settings: BotSettings = {
    ...old,
    name,
    enabled: old?.enabled ?? true,
    approvedOrigins: old?.approvedOrigins ?? [],
    installedAt: now,
  };
  await writeJsonFile(paths.config, settings);
  await recordDeploy(dataDir, addr, now);
  // A new bot is routed to the host at once when the host keeps Postfix's table (transport-map.ts).
  await syncTransportMap(dataDir, config);
  const pendingOrigins = manifest.origins.filter((o) => !settings.approvedOrigins.includes(o) && !config.approvedOrigins.includes(o));
  return { manifest, upgrade: old !== undefined, settings, pendingOrigins };
}
