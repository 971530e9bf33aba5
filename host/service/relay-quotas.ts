// The relay's quotas for unattended bots (issue 13, part 4; host.json `quotas`, core/limits.ts
// RelayQuotas), checked by installBundle before anything is written: the bots on this host, one
// bot's disk after the install, and its installs in any rolling 24 hours. Over any, the install is
// refused with E_QUOTA and a sentence that says which quota, the numbers, and what to do.
import { lstat, readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ChatbotError } from "../../core/errors.js";
import type { RelayQuotas } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import { hostPaths, installedBotAddresses, isInstalledBot } from "./paths.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Where the bot kept its install history before it moved to <data>/deploys/<addr>.json (outside the
 * bot's folder, so `chatbot deploy --remove` and a fresh deploy do not reset the day's count). Still
 * read, so an upgrade of the host keeps the day's count.
 */
function legacyDeploysFile(dataDir: string, addr: string): string {
  return join(hostPaths(dataDir).bot(addr).dir, "deploys.json");
}

/** Bytes of the files under `path` (symlinks counted as themselves, never followed); 0 when it does not exist. */
export async function treeBytes(path: string): Promise<number> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const name of await readdir(path)) total += await treeBytes(join(path, name));
  return total;
}

/** The installs of `addr` within the day before `now`, oldest first. */
async function recentDeploys(dataDir: string, addr: string, now: number): Promise<number[]> {
  const kept = await readJsonFile<unknown>(hostPaths(dataDir).deploys(addr), []);
  const legacy = await readJsonFile<unknown>(legacyDeploysFile(dataDir, addr), []);
  const all = [...(Array.isArray(kept) ? kept : []), ...(Array.isArray(legacy) ? legacy : [])];
  return [...new Set(all)].filter((at): at is number => typeof at === "number" && at > now - DAY_MS && at <= now).sort((a, b) => a - b);
}

/** Refuse (E_QUOTA) installing the bundle folder `dist` for `addr` at `now` when it would go over a quota. */
export async function checkRelayQuotas(dataDir: string, quotas: RelayQuotas, addr: string, dist: string, now: number): Promise<void> {
  const paths = hostPaths(dataDir).bot(addr);
  if (!isInstalledBot(dataDir, addr)) {
    const installed = (await installedBotAddresses(dataDir)).length;
    if (installed >= quotas.maxBots) {
      throw new ChatbotError(
        "E_QUOTA",
        `this relay hosts ${installed} bots, its most (quotas.maxBots ${quotas.maxBots}): ${addr} cannot be installed; ask the relay's operator`,
      );
    }
  }
  const deploys = await recentDeploys(dataDir, addr, now);
  if (deploys.length >= quotas.deploysPerDay) {
    const next = new Date(deploys[deploys.length - quotas.deploysPerDay]! + DAY_MS).toISOString();
    throw new ChatbotError(
      "E_QUOTA",
      `${addr} was installed ${deploys.length} times in the last 24 hours, the most this relay allows (quotas.deploysPerDay ${quotas.deploysPerDay}); deploy again after ${next}`,
    );
  }
  // After the install: the new bundle, the current one as previous/, and everything else the bot
  // keeps. A deploy's staging folder is inside the bot's folder (deploy-watcher.ts): counted once.
  const distBytes = await treeBytes(dist);
  const staged = resolve(dist).startsWith(`${resolve(paths.dir)}/`) ? distBytes : 0;
  const after = (await treeBytes(paths.dir)) - (await treeBytes(paths.previous)) - staged + distBytes;
  if (after > quotas.botDiskBytes) {
    throw new ChatbotError(
      "E_QUOTA",
      `${addr} would use ${after} bytes of this relay's disk after this install (its bundle, the one before it, its state and stores), over quotas.botDiskBytes ${quotas.botDiskBytes}; deploy a smaller bundle or keep less state`,
    );
  }
}

/** Note an install of `addr` at `now` (kept for a day: the deploysPerDay window). */
export async function recordDeploy(dataDir: string, addr: string, now: number): Promise<void> {
  const kept = await recentDeploys(dataDir, addr, now);
  await writeJsonFile(hostPaths(dataDir).deploys(addr), [...kept, now]);
  await rm(legacyDeploysFile(dataDir, addr), { force: true });
}
