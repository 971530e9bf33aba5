// Installed bots: what `chatbot host install` puts under <data>/bots/<addr>/ and how the service
// loads it. A bot is loaded with the operator's ceilings applied to its manifest, so a bot built
// for a more generous relay still runs within this relay's limits.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseManifest, type Manifest } from "../../core/manifest.js";
import { ChatbotError, errorMessage } from "../../core/errors.js";
import { BUNDLE_MAX_BYTES, effectiveEventLimits, effectivePerUserLimits, type PerUserLimits } from "../../core/limits.js";
import { openBotAccount } from "../wire/bot-account.js";
import { readBotSettings, type BotSettings } from "./bot-settings.js";
import { BotStateFile } from "./bot-state-file.js";
import type { HostedBot } from "./hosted-bot.js";
import type { HostConfig } from "./host-config.js";
import { hostPaths, isInstalledBot } from "./paths.js";
import type { Clock } from "../../core/clock.js";

export type { BotSettings } from "./bot-settings.js";

/** A bot ready for the service: the hosted bot plus its manifest, per-user limits and settings. */
export interface InstalledBot extends HostedBot {
  manifest: Manifest;
  perUser: Readonly<PerUserLimits>;
  settings: BotSettings;
  /** The account's password (SMTP submission as the bot). */
  password: string;
}

/** Read and check the installed version of a bundle folder: manifest with the host's ceilings, sha256 of bot.js. */
export async function readBundleFolder(dir: string, config: Pick<HostConfig, "ceilings">): Promise<{ manifest: Manifest; code: string; sha256: string }> {
  const manifestFile = join(dir, "chatbot.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(manifestFile, "utf8"));
  } catch (error) {
    throw new ChatbotError("E_MANIFEST", `${manifestFile}: cannot read it (${errorMessage(error)}); run 'chatbot build' first`);
  }
  const manifest = parseManifest(raw, manifestFile, config.ceilings);
  if (!manifest.bundle) throw new ChatbotError("E_BUNDLE", `${manifestFile} has no "bundle" record: it is not the output of 'chatbot build'`);
  // A file name inside the folder, never a path out of it (a deployed manifest comes from outside).
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(manifest.bundle.file))
    throw new ChatbotError("E_BUNDLE", `${manifestFile}: "bundle.file" must be a file name inside the folder, not ${JSON.stringify(manifest.bundle.file)}`);
  if (manifest.bundle.bytes > BUNDLE_MAX_BYTES)
    throw new ChatbotError("E_BUNDLE", `${manifestFile}: the bundle is ${manifest.bundle.bytes} bytes, over the host's cap of ${BUNDLE_MAX_BYTES}`);
  const code = await readFile(join(dir, manifest.bundle.file), "utf8");
  const sha256 = createHash("sha256").update(code).digest("hex");
  if (sha256 !== manifest.bundle.sha256)
    throw new ChatbotError("E_BUNDLE", `${join(dir, manifest.bundle.file)} does not match the sha256 in its manifest: rebuild and reinstall`);
  return { manifest, code, sha256 };
}

/** Load the installed bot `addr`; undefined when no bot is installed at that address. */
export async function loadInstalledBot(dataDir: string, addr: string, config: HostConfig, clock: Clock): Promise<InstalledBot | undefined> {
  const paths = hostPaths(dataDir).bot(addr);
  const settings = await readBotSettings(paths.config);
  if (!settings) return undefined;
  const { manifest, code, sha256 } = await readBundleFolder(paths.current, config);
  const password = (await readFile(paths.password, "utf8")).trim();
  // Mail from another bot of this host counts as automated whatever its headers say (loop-guard.ts).
  const account = await openBotAccount(dataDir, addr, settings.name, clock, { isHostBot: (other) => isInstalledBot(dataDir, other) });
  const { perUser, ...eventLimits } = manifest.limits;
  const approved = new Set([...config.approvedOrigins, ...settings.approvedOrigins]);
  return {
    account,
    bundle: { id: sha256, code, filename: "bot.js" },
    limits: effectiveEventLimits(config.ceilings.event, eventLimits),
    origins: manifest.origins.filter((origin) => approved.has(origin)),
    state: BotStateFile.forAccount(dataDir, addr),
    manifest,
    perUser: effectivePerUserLimits(config.ceilings.perUser, perUser),
    settings,
    password,
  };
}
