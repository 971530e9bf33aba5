// The host side of `chatbot deploy`: log in as each installed bot, install the deploys waiting in
// its ChatbotInstall folder, and keep every account alive. Run by `chatbot host serve` (a timer of
// its own, so a slow IMAP server never holds up mail), for any account at once when the deploy
// inbox hands over a deploy Dovecot saw appended (deploy-inbox.ts: how an account that is not a
// bot yet deploys), and once by `chatbot host install ADDR --from-account`.
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
import type { RestAnswer } from "./pipeline-rest.js";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isChatbotError, describeError } from "../../core/errors.js";
import {
  ACCOUNT_REFRESH_MS,
  DEPLOY_LOGINS_PER_SECOND,
  DEPLOY_WATCH_MAX_MS,
  DEPLOY_INBOX_LOOK_DELAY_MS,
  DEPLOY_INBOX_LOOKS,
  DEPLOY_MESSAGE_MAX_BYTES,
  DEPLOY_MESSAGES_PER_CHECK,
} from "../../core/limits.js";
import { Serial } from "../policy/serial.js";
import { readJsonFile, writeJsonFile, writePrivateFile } from "../storage/json-file.js";
import {
  DEPLOY_FOLDER,
  DEPLOY_PARTS,
  hasDeployHeader,
  parseDeployMessage,
  readDeployCredentials,
  samePassword,
  type DeployAction,
  type ParsedControl,
  type ParsedDeploy,
} from "../deploy/deploy-message.js";
import type { DeployMailbox, ImapSettings } from "../deploy/imap-mailbox.js";
import type { HostLog } from "./host-event.js";
import type { HostConfig } from "./host-config.js";
import { installBundle } from "./install-bot.js";
import { readBundleFolder, type BotSettings } from "./installed-bots.js";
import { hostPaths, isInstalledBot } from "./paths.js";
import { pauseBot, removeBot, resumeBot } from "./author-controls.js";
import type { NoticeKind } from "./author-notices.js";
import { botInviteLink } from "./bot-invite.js";
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
  | { uid: number; status: "paused" | "resumed" | "removed" }
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
  /** Told when a bot starts getting its mail (a new bot installed, a paused one resumed), with when (ms): `host serve` catches up on its INBOX. */
  onRouted?: (addr: string, since: number) => void;
  /** Wait before each look into ChatbotInstall after a hook, ms; DEPLOY_INBOX_LOOK_DELAY_MS unless a test says. */
  lookDelayMs?: number;
  /** Tell the deploying account what became of its deploy (author-notices.ts); must not throw. */
  notify?: (account: string, kind: NoticeKind, text: string, options?: { password?: string }) => Promise<void>;
}

/** A dropped deploy not found in the folder within this long after a check that handled deploys was handled by it, ms. */
const HANDLED_WITH_EARLIER_MS = 60_000;

/** How long after its last check a bot is checked again, ms (pure). */
function checkIntervalMs(pollSeconds: number): number {
  return pollSeconds > 0 ? Math.min(pollSeconds * 1000, ACCOUNT_REFRESH_MS) : ACCOUNT_REFRESH_MS;
}

/** How often the watcher looks for due bots, ms: the poll's interval within [1 s, DEPLOY_WATCH_MAX_MS]; no poll (0): the longest. */
export function watchIntervalMs(pollSeconds: number): number {
  return pollSeconds > 0 ? Math.min(Math.max(pollSeconds * 1000, 1000), DEPLOY_WATCH_MAX_MS) : DEPLOY_WATCH_MAX_MS;
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
  /** Account checks and arrived deploys in progress (each keeps the pipeline from resting). */
  private active = 0;
  /** One account check at a time, whether the poll, the deploy door or `host install` asked for it. */
  private readonly checks = new Serial();
  /** When checkDue last started a login, real ms (its spacing is real time whatever the clock). */
  private lastLoginStartedAt = 0;
  /** Per bot folder: when checkDue looks at it again, ms (see checkDue); kept in watch-index.json. */
  private readonly nextDue = new Map<string, number>();
  private indexLoaded = false;
  /** checkDue changed a due time since the index was last written. */
  private indexChanged = false;
  /** When a check last handled a deploy of an account (kept HANDLED_WITH_EARLIER_MS), ms. */
  private readonly lastHandled = new Map<string, number>();

  constructor(private readonly deps: DeployWatcherDeps) {}

  /**
   * Check every installed bot that is due (one after another); errors are logged per bot. A bot's
   * next due time is kept in memory once its files were read, so a look reads the files of the
   * bots that are due (or new) only, not of every bot (issue 15: idle cost must not grow with the
   * bots); a bot checked meanwhile by another path is read again when its old time comes, found
   * not due, and noted with its new time.
   */
  async checkDue(): Promise<void> {
    if (!this.indexLoaded) await this.loadIndex();
    this.indexChanged = false;
    try {
      await this.lookAtDueBots();
    } finally {
      // Kept across starts: a restart reads only the bots that are due, not every bot's files.
      if (this.indexChanged)
        await writePrivateFile(hostPaths(this.deps.dataDir).watchIndex, JSON.stringify(Object.fromEntries(this.nextDue))).catch(() => undefined);
    }
  }

  /** Note when `addr` is looked at next (a change marks the index for writing); undefined forgets it. */
  private setDue(addr: string, at: number | undefined): void {
    if (this.nextDue.get(addr) === at) return;
    if (at === undefined) this.nextDue.delete(addr);
    else this.nextDue.set(addr, at);
    this.indexChanged = true;
  }

  private async loadIndex(): Promise<void> {
    this.indexLoaded = true;
    const index = await readJsonFile<Record<string, unknown>>(hostPaths(this.deps.dataDir).watchIndex, {}).catch(() => ({}));
    for (const [addr, at] of Object.entries(index ?? {})) if (typeof at === "number" && Number.isFinite(at)) this.nextDue.set(addr, at);
  }

  private async lookAtDueBots(): Promise<void> {
    const names = (await readdir(hostPaths(this.deps.dataDir).bots).catch(() => [] as string[])).sort();
    const present = new Set(names);
    for (const addr of this.nextDue.keys()) if (!present.has(addr)) this.setDue(addr, undefined);
    const interval = checkIntervalMs(this.deps.config.imap.pollSeconds);
    for (const addr of names) {
      if (this.stopped) return;
      const now = this.deps.clock.now();
      if ((this.nextDue.get(addr) ?? now) > now) continue;
      const paths = hostPaths(this.deps.dataDir).bot(addr);
      const settings = await readJsonFile<BotSettings | undefined>(paths.config, undefined).catch(() => undefined);
      if (!settings) {
        this.setDue(addr, now + interval); // not a bot (yet): looked at again later
        continue;
      }
      const state = await readJsonFile<AccountCheck>(join(paths.dir, "account.json"), {}).catch(() => ({}) as AccountCheck);
      if (!checkDue(state, now, this.deps.config.imap.pollSeconds)) {
        this.setDue(addr, (state.lastCheckAt ?? now) + interval);
        continue;
      }
      // Logins spaced (after a restart every bot may be due at once): at most DEPLOY_LOGINS_PER_SECOND.
      const wait = this.lastLoginStartedAt + 1000 / DEPLOY_LOGINS_PER_SECOND - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.stopped) return;
      this.lastLoginStartedAt = Date.now();
      await this.checkAccount(addr).catch(() => {}); // logged inside
      this.setDue(addr, this.deps.clock.now() + interval);
    }
  }

  /**
   * Log in as `addr` and install what waits in its ChatbotInstall folder. `password` is for a bot
   * that is not installed yet (host install --from-account); an installed bot uses its stored one.
   */
  checkAccount(addr: string, options: { password?: string; name?: string } = {}): Promise<DeployOutcome[]> {
    this.active += 1;
    return this.checks.run(() => this.checkAccountNow(addr, options)).finally(() => (this.active -= 1));
  }

  /**
   * Install what Dovecot saw `account` append to its ChatbotInstall folder (the deploy inbox hands
   * over each message): log in as the account (with its stored password when it is a bot here, else
   * with the one the deploy carries: a login that works is the proof of ownership) and check its
   * folder, a few times while the APPEND that ran the hook may not be visible yet. Refusals are
   * logged (deploy.refused); an IMAP failure throws.
   */
  async installArrived(account: string, raw: Uint8Array): Promise<void> {
    this.active += 1;
    try {
      return await this.installArrivedNow(account, raw);
    } finally {
      this.active -= 1;
    }
  }

  private async installArrivedNow(account: string, raw: Uint8Array): Promise<void> {
    const { dataDir, log } = this.deps;
    const installed = isInstalledBot(dataDir, account);
    let password: string | undefined;
    if (!installed) {
      const credentials = await readDeployCredentials(raw).catch(() => undefined);
      if (!credentials) return this.refuseArrived(account, "E_DEPLOY: not a deploy made by 'chatbot deploy' (no password attachment)");
      if (credentials.addr !== account)
        return this.refuseArrived(
          account,
          `E_DEPLOY: the deploy is for ${JSON.stringify(credentials.addr)} but was put into the folder of ${account}: run 'chatbot deploy --addr ${account}' with ${account}'s password`,
        );
      password = credentials.password;
    }
    for (let look = 1; look <= DEPLOY_INBOX_LOOKS && !this.stopped; look += 1) {
      await new Promise((resolve) => setTimeout(resolve, this.deps.lookDelayMs ?? DEPLOY_INBOX_LOOK_DELAY_MS));
      let outcomes: DeployOutcome[];
      try {
        outcomes = await this.checkAccount(account, password === undefined ? {} : { password });
      } catch (error) {
        if (!isChatbotError(error, "E_IMAP_AUTH")) throw error;
        if (password === undefined) {
          // The stored password no longer logs in (the account's password was changed): the deploy
          // may carry the new one; a login with it is the same proof, and then it is stored.
          const credentials = await readDeployCredentials(raw).catch(() => undefined);
          if (credentials?.addr === account) {
            password = credentials.password;
            continue;
          }
          return this.refuseArrived(
            account,
            `E_DEPLOY: the host's stored password for ${account} no longer logs in, and the deploy carries no password for it: deploy with the account's current password`,
          );
        }
        return this.refuseArrived(
          account,
          installed
            ? `E_DEPLOY: neither the host's stored password for ${account} nor the one in the deploy logs in: deploy with the account's current password`
            : `E_DEPLOY: the password in the deploy does not log in as ${account}: deploy with the account's own password`,
        );
      }
      if (outcomes.length > 0) return;
    }
    // Nothing waited in the folder: say why, and tell the author only when they cannot know.
    if (!hasDeployHeader(raw)) return log({ event: "deploy.missed", account, why: "not a deploy message" });
    const handledAt = this.lastHandled.get(account);
    if (handledAt !== undefined && this.deps.clock.now() - handledAt <= HANDLED_WITH_EARLIER_MS)
      return log({ event: "deploy.missed", account, why: "handled with an earlier deploy" });
    log({ event: "deploy.missed", account, why: "gone from the folder" });
    const waited = (DEPLOY_INBOX_LOOKS * DEPLOY_INBOX_LOOK_DELAY_MS) / 1000;
    await this.deps.notify?.(
      account,
      "refused",
      `Your deploy to ${account} reached the host, but it was no longer in ${DEPLOY_FOLDER} when the host looked (for ${waited} s): if you did not move or delete it, run 'chatbot deploy' again.`,
      password === undefined ? {} : { password },
    );
  }

  /** Remember that a check of `addr` found deploys at `now`; older notes are dropped (the map stays small). */
  private noteHandled(addr: string, now: number): void {
    for (const [account, at] of this.lastHandled) if (now - at > HANDLED_WITH_EARLIER_MS) this.lastHandled.delete(account);
    this.lastHandled.set(addr, now);
  }

  /** A deploy refused before any install: logged, and the account is told. */
  private async refuseArrived(account: string, reason: string): Promise<void> {
    this.deps.log({ event: "deploy.refused", account, reason });
    await this.deps.notify?.(account, "refused", `Your deploy to ${account} was refused: ${reason}`);
  }

  private async checkAccountNow(addr: string, options: { password?: string; name?: string }): Promise<DeployOutcome[]> {
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
      if (options.password !== undefined && isInstalledBot(dataDir, addr)) {
        // A bot here whose account took a password other than the stored one: that login proved it is the account's now.
        const stored = await readFile(paths.password, "utf8").catch(() => undefined);
        if (stored?.trim() !== options.password) {
          await writePrivateFile(paths.password, options.password);
          log({ event: "account.password-changed", bot: addr });
        }
      }
      const refreshed = state.lastRefreshLoggedAt === undefined || now - state.lastRefreshLoggedAt >= ACCOUNT_REFRESH_MS;
      if (refreshed) log({ event: "account.refreshed", bot: addr, previousLoginAt: state.lastLoginAt ?? null });
      const next: AccountCheck = { lastCheckAt: now, lastLoginAt: now, lastRefreshLoggedAt: refreshed ? now : state.lastRefreshLoggedAt };
      if ((await readJsonFile(paths.config, undefined)) !== undefined) await writeJsonFile(stateFile, next);
      const waitingNow = await mailbox.waiting(DEPLOY_MESSAGES_PER_CHECK);
      if (waitingNow.length > 0) this.noteHandled(addr, now);
      for (const waiting of waitingNow) {
        const outcome = await this.install(addr, mailbox, waiting.uid, waiting.size, password, options.name);
        outcomes.push(outcome);
        if (outcome.status === "refused") {
          log({ event: "install.refused", bot: addr, uid: outcome.uid, reason: outcome.reason });
          await mailbox.refuse(outcome.uid);
        } else {
          if (outcome.status === "installed")
            log({ event: "install.deployed", bot: addr, name: outcome.name, version: outcome.version, author: outcome.author, upgrade: outcome.upgrade });
          else if (outcome.status === "unchanged") log({ event: "install.unchanged", bot: addr, version: outcome.version });
          else log({ event: `install.${outcome.status}`, bot: addr });
          if ((outcome.status === "installed" && !outcome.upgrade) || outcome.status === "resumed") this.deps.onRouted?.(addr, clock.now());
          await mailbox.remove(outcome.uid);
        }
        await this.tell(addr, outcome, password);
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
    let deploy: ParsedDeploy | ParsedControl;
    try {
      deploy = await parseDeployMessage(raw);
    } catch (error) {
      if (isChatbotError(error, "E_DEPLOY")) return { uid, status: "refused", reason: describeError(error) };
      throw error;
    }
    if (deploy.addr !== addr) {
      return {
        uid,
        status: "refused",
        reason: `E_DEPLOY: the deploy is for ${JSON.stringify(deploy.addr)} but was put into the folder of ${addr}: run 'chatbot deploy --addr ${addr}' with ${addr}'s password`,
      };
    }
    if (!samePassword(deploy.password, password)) {
      return { uid, status: "refused", reason: "E_DEPLOY: the password in the deploy is not the account's: only the account's owner may deploy to it" };
    }
    if (deploy.action !== "install") return this.control(addr, uid, deploy.action);
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
      // A refused first deploy leaves no empty bot folder behind (rmdir: only when nothing else is in it).
      if ((await readJsonFile(paths.config, undefined)) === undefined) await rmdir(paths.dir).catch(() => undefined);
    }
  }

  /** The notice for one outcome (none for a deploy that changed nothing). */
  private async tell(addr: string, outcome: DeployOutcome, password: string): Promise<void> {
    const notify = this.deps.notify;
    if (!notify || outcome.status === "unchanged") return;
    if (outcome.status === "installed") {
      const invite = await botInviteLink(this.deps.dataDir, addr).catch(() => undefined);
      await notify(
        addr,
        "installed",
        `${outcome.name} ${outcome.version} is installed at ${addr}${outcome.upgrade ? " (an upgrade: the version before is kept for a rollback)" : ""} and answers its mail now.` +
          (invite ? `\n\nPeople chat with it by this invite (a QR code of it works too):\n${invite}` : ""),
        { password },
      );
    } else if (outcome.status === "refused") await notify(addr, "refused", `Your deploy to ${addr} was refused: ${outcome.reason}`, { password });
    else if (outcome.status === "paused")
      await notify(addr, "paused", `${addr} is paused: its mail goes to this mailbox and is not answered, until 'chatbot deploy --resume'.`, { password });
    else if (outcome.status === "resumed") await notify(addr, "resumed", `${addr} runs again: its new mail is answered.`, { password });
    else
      await notify(addr, "removed", `${addr} is no longer a bot on this relay: it is a plain mailbox again (the host keeps a copy of the bot).`, { password });
  }

  /** A control deploy: pause, resume or remove the bot (refused when none is installed). */
  private async control(addr: string, uid: number, action: DeployAction): Promise<DeployOutcome> {
    const { dataDir, config, clock } = this.deps;
    if (!isInstalledBot(dataDir, addr))
      return { uid, status: "refused", reason: `E_DEPLOY: no bot is installed at ${addr} to ${action}: deploy one first with 'chatbot deploy'` };
    // A bot the operator disabled stays on the host: removed, its author could deploy it afresh, enabled.
    const settings = await readJsonFile<BotSettings | undefined>(hostPaths(dataDir).bot(addr).config, undefined);
    if (action === "remove" && settings?.enabled === false)
      return {
        uid,
        status: "refused",
        reason: `E_DEPLOY: the relay's operator disabled ${addr}${settings.disabledReason ? ` (${settings.disabledReason})` : ""}: it cannot be removed by its author while disabled; ask the operator`,
      };
    if (action === "pause") await pauseBot(dataDir, config, addr, clock.now());
    else if (action === "resume") await resumeBot(dataDir, config, addr);
    else await removeBot(dataDir, config, addr, new Date(clock.now()));
    return { uid, status: action === "pause" ? "paused" : action === "resume" ? "resumed" : "removed" };
  }

  /**
   * Check due bots every `everyMs` (each bot itself only every imap.pollSeconds): by default as
   * often as the poll asks, between 1 s and DEPLOY_WATCH_MAX_MS (a look reads every bot's files;
   * deploys of any account arrive through the deploy inbox without waiting for it).
   */
  start(everyMs = watchIntervalMs(this.deps.config.imap.pollSeconds)): void {
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

  /**
   * For the pipeline's rest (pipeline-rest.ts): busy until its first look ran and while a look or a
   * check runs; else the earliest time a bot is due for its next check (the daily login, a poll).
   */
  restAnswer(): RestAnswer {
    if (!this.indexLoaded || this.running !== undefined || this.active > 0) return "busy";
    let next = Number.POSITIVE_INFINITY;
    for (const at of this.nextDue.values()) next = Math.min(next, at);
    return next;
  }

  /** Stop after the check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
