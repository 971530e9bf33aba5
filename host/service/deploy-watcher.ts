// The host side of `chatbot deploy`: log in as each installed bot, install the deploys waiting in
// its ChatbotInstall folder, and keep every account alive. Run by `chatbot host serve` (a timer of
// its own, so a slow IMAP server never holds up mail) and once by `chatbot host install ADDR
// --from-account`.
//
// A deploy goes through the same checks as a local install: the message is parsed within its caps
// (deploy-message.ts), its password must be the account's own, its parts are written to a private
// staging folder and read back with readBundleFolder (the manifest against this host's ceilings,
// bot.js against its sha256), and only then installed (installBundle: the version before is kept
// for --rollback). Nothing in it is run here. An installed deploy is deleted from the folder; a
// refused one is moved to ChatbotInstall/Refused and logged with the reason.
//
// Every check is an IMAP login, which is what keeps a chatmail account from expiring (90 days
// without one, PROTOCOL §1): a bot is checked every `imap.pollSeconds`, and at least once per
// ACCOUNT_REFRESH_MS even when polling is off.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isChatbotError, describeError } from "../../core/errors.js";
import { ACCOUNT_REFRESH_MS, DEPLOY_MESSAGE_MAX_BYTES, DEPLOY_MESSAGES_PER_CHECK } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import { DEPLOY_PARTS, parseDeployMessage, samePassword, type ParsedDeploy } from "../deploy/deploy-message.js";
import type { DeployMailbox, ImapSettings } from "../deploy/imap-mailbox.js";
import type { HostLog } from "./host-event.js";
import type { HostConfig } from "./host-config.js";
import { installBundle } from "./install-bot.js";
import { readBundleFolder, type BotSettings } from "./installed-bots.js";
import { hostPaths } from "./paths.js";
import type { Clock } from "../../core/clock.js";

/** <data>/bots/<addr>/account.json: when the host last logged in as the bot. */
export interface AccountCheck {
  /** Last check attempt (successful or not), ms since the epoch. */
  lastCheckAt?: number;
  /** Last successful IMAP login, ms. */
  lastLoginAt?: number;
  /** When `account.refreshed` was last logged (once per ACCOUNT_REFRESH_MS), ms. */
  lastRefreshLoggedAt?: number;
}

/** What became of one deploy message. */
export type DeployOutcome =
  | { uid: number; status: "installed"; name: string; version: string; author: string; upgrade: boolean }
  | { uid: number; status: "unchanged"; version: string }
  | { uid: number; status: "refused"; reason: string };

export interface DeployWatcherDeps {
  dataDir: string;
  config: Readonly<
    Pick<HostConfig, "imap" | "ceilings" | "approvedOrigins" | "quotas" | "transportMap" | "transportNexthop" | "lmtpSocket" | "postfixConfigDir">
  >;
  clock: Clock;
  log: HostLog;
  /** Log in as a bot account (imap-mailbox.ts; tests may pass a fake). */
  openMailbox: (settings: Readonly<ImapSettings>, user: string, password: string) => Promise<DeployMailbox>;
}

/** How long after its last check a bot is checked again, ms (pure). */
function checkIntervalMs(pollSeconds: number): number {
  return pollSeconds > 0 ? Math.min(pollSeconds * 1000, ACCOUNT_REFRESH_MS) : ACCOUNT_REFRESH_MS;
}

/** True when the bot whose last check is `state` is due at `now` (pure). */
export function checkDue(state: AccountCheck, now: number, pollSeconds: number): boolean {
  return state.lastCheckAt === undefined || now - state.lastCheckAt >= checkIntervalMs(pollSeconds);
}

/** Checks the bots' ChatbotInstall folders and keeps their accounts alive. */
export class DeployWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: DeployWatcherDeps) {}

  /** Check every installed bot that is due (one after another); errors are logged per bot. */
  async checkDue(): Promise<void> {
    const names = await readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[]);
    for (const addr of names.sort()) {
      if (this.stopped) return;
      const paths = hostPaths(this.deps.dataDir).bot(addr);
      const settings = await readJsonFile<BotSettings | undefined>(paths.config, undefined).catch(() => undefined);
      if (!settings) continue;
      const state = await readJsonFile<AccountCheck>(join(paths.dir, "account.json"), {}).catch(() => ({}) as AccountCheck);
      if (!checkDue(state, this.deps.clock.now(), this.deps.config.imap.pollSeconds)) continue;
      await this.checkAccount(addr).catch(() => {}); // logged inside
    }
  }

  /**
   * Log in as `addr` and install what waits in its ChatbotInstall folder. `password` is for a bot
   * that is not installed yet (host install --from-account); an installed bot uses its stored one.
   */
  async checkAccount(addr: string, options: { password?: string; name?: string } = {}): Promise<DeployOutcome[]> {
    const { dataDir, clock, log } = this.deps;
    const paths = hostPaths(dataDir).bot(addr);
    const stateFile = join(paths.dir, "account.json");
    const state = await readJsonFile<AccountCheck>(stateFile, {}).catch(() => ({}) as AccountCheck);
    const password = options.password ?? (await readFile(paths.password, "utf8")).trim();
    const now = clock.now();
    let mailbox: DeployMailbox;
    try {
      mailbox = await this.deps.openMailbox(this.deps.config.imap, addr, password);
    } catch (error) {
      if ((await readJsonFile(paths.config, undefined)) !== undefined) await writeJsonFile(stateFile, { ...state, lastCheckAt: now });
      log({ event: "account.error", bot: addr, error: describeError(error), lastLoginAt: state.lastLoginAt ?? null });
      throw error;
    }
    const outcomes: DeployOutcome[] = [];
    try {
      const refreshed = state.lastRefreshLoggedAt === undefined || now - state.lastRefreshLoggedAt >= ACCOUNT_REFRESH_MS;
      if (refreshed) log({ event: "account.refreshed", bot: addr, previousLoginAt: state.lastLoginAt ?? null });
      const next: AccountCheck = { lastCheckAt: now, lastLoginAt: now, lastRefreshLoggedAt: refreshed ? now : state.lastRefreshLoggedAt };
      if ((await readJsonFile(paths.config, undefined)) !== undefined) await writeJsonFile(stateFile, next);
      for (const waiting of await mailbox.waiting(DEPLOY_MESSAGES_PER_CHECK)) {
        const outcome = await this.install(addr, mailbox, waiting.uid, waiting.size, password, options.name);
        outcomes.push(outcome);
        if (outcome.status === "refused") {
          log({ event: "install.refused", bot: addr, uid: outcome.uid, reason: outcome.reason });
          await mailbox.refuse(outcome.uid);
        } else {
          if (outcome.status === "installed")
            log({ event: "install.deployed", bot: addr, name: outcome.name, version: outcome.version, author: outcome.author, upgrade: outcome.upgrade });
          else log({ event: "install.unchanged", bot: addr, version: outcome.version });
          await mailbox.remove(outcome.uid);
        }
      }
      // A bot installed just now by --from-account gets its state file too.
      if (options.password !== undefined && (await readJsonFile(paths.config, undefined)) !== undefined) await writeJsonFile(stateFile, next);
    } catch (error) {
      log({ event: "install.error", bot: addr, error: describeError(error) });
      throw error;
    } finally {
      await mailbox.close();
    }
    return outcomes;
  }

  /** Check and install one deploy message; a refusal is an outcome, an IMAP failure throws. */
  private async install(addr: string, mailbox: DeployMailbox, uid: number, size: number, password: string, name: string | undefined): Promise<DeployOutcome> {
    if (size > DEPLOY_MESSAGE_MAX_BYTES)
      return { uid, status: "refused", reason: `E_DEPLOY: ${size} bytes, over the host's cap of ${DEPLOY_MESSAGE_MAX_BYTES}` };
    const raw = await mailbox.download(uid);
    let deploy: ParsedDeploy;
    try {
      deploy = await parseDeployMessage(raw);
    } catch (error) {
      if (isChatbotError(error, "E_DEPLOY")) return { uid, status: "refused", reason: describeError(error) };
      throw error;
    }
    if (!samePassword(deploy.password, password)) {
      return { uid, status: "refused", reason: "E_DEPLOY: the password in the deploy is not the account's: only the account's owner may deploy to it" };
    }
    const paths = hostPaths(this.deps.dataDir).bot(addr);
    // The very same build again (a deploy re-sent, or a delete that failed after the install):
    // installing it would push the real previous version out of previous/.
    const current = await readBundleFolder(paths.current, this.deps.config).catch(() => undefined);
    const currentManifest = await readFile(join(paths.current, DEPLOY_PARTS.manifest)).catch(() => undefined);
    if (current && current.sha256 === deploy.sha256 && currentManifest?.equals(deploy.manifest))
      return { uid, status: "unchanged", version: current.manifest.version };
    // Staging: the bundle folder as 'chatbot build' wrote it; the password is not part of it.
    const staging = join(paths.dir, "deploy.incoming");
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
    try {
      await writeFile(join(staging, DEPLOY_PARTS.manifest), deploy.manifest, { mode: 0o600 });
      await writeFile(join(staging, DEPLOY_PARTS.bundle), deploy.bundle, { mode: 0o600 });
      if (deploy.sourceMap) await writeFile(join(staging, DEPLOY_PARTS.sourceMap), deploy.sourceMap, { mode: 0o600 });
      const isNew = (await readJsonFile(paths.config, undefined)) === undefined;
      const result = await installBundle(this.deps.dataDir, this.deps.config, addr, staging, {
        ...(isNew ? { password } : {}),
        ...(name === undefined ? {} : { name }),
        clock: this.deps.clock,
      });
      const author = `${result.manifest.author.name} <${result.manifest.author.contact}>`;
      return { uid, status: "installed", name: result.manifest.name, version: result.manifest.version, author, upgrade: result.upgrade };
    } catch (error) {
      if (isChatbotError(error) && (error.who === "author" || error.code === "E_USAGE")) return { uid, status: "refused", reason: describeError(error) };
      throw error;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Check due bots every `everyMs` (each bot itself only every imap.pollSeconds). */
  start(everyMs = 5_000): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.running ??= this.checkDue()
        .catch((error) => this.deps.log({ event: "service.error", message: describeError(error) }))
        .finally(() => {
          this.running = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, everyMs);
  }

  /** Stop after the check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
