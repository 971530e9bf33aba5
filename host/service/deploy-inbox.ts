// The deploy inbox (issue 13, part 2): how a deploy appended to ANY account's ChatbotInstall folder
// reaches the host within a second, not at the next poll, and even while the host is down.
//
// Dovecot's IMAPSieve runs a Sieve script for each APPEND or COPY into ChatbotInstall (`chatbot host
// setup` writes it, dovecot-steps.ts); the script pipes the message to a small sh program, run as
// the mail user, which writes it into this folder as `.NAME` and renames it to NAME =
// `<time>.<pid>.<account>`. The account is Dovecot's authenticated IMAP user (the Sieve
// environment's imap.user), not anything the message says: the one fact the host takes on trust,
// and why only the group Dovecot's mail processes run as (chatmail: vmail) may write here (the
// folder is the host user's, that group's, mode 2770; nobody else may even look in).
//
// The host takes each file in name order: one over the deploy cap is refused unread, the others go
// to the deploy watcher, which logs in as the account with the password the deploy carries (the
// proof that the deploy is the owner's) and installs from the ChatbotInstall folder as for any
// deploy. A file is removed once handled; one whose handling failed for the moment (IMAP down)
// stays and is tried again with a growing wait (DEPLOY_INBOX_RETRY_MS doubling up to
// DEPLOY_INBOX_RETRY_MAX_MS) until DEPLOY_INBOX_GIVE_UP_MS after its first failure, when it is
// dropped and the account told (the deploy itself stays in its ChatbotInstall). Files wait here
// while the host is down. One pass takes one file per account, oldest first, then looks again: an
// account with many files waits its turn behind the others, never in front of them.
import type { RestAnswer } from "./pipeline-rest.js";
import { watch, type FSWatcher } from "node:fs";
import { readdir, readFile, stat, unlink } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { isAccountAddress } from "../../core/address.js";
import type { Clock } from "../../core/clock.js";
import { ChatbotError, describeError } from "../../core/errors.js";
import { DEPLOY_INBOX_SCAN_MS, DEPLOY_INBOX_STALE_MS, DEPLOYS_PER_ACCOUNT_PER_HOUR } from "../../core/limits.js";
import { AccountHourly } from "../policy/account-hourly.js";
import { probeNonce } from "./deploy-check.js";
import type { HostLog } from "./host-event.js";

/** `<time>.<pid>.<account>`, as the hook names a deploy it dropped. */
const DROPPED = /^(\d+)\.(\d+)\.(.+)$/;
/** Wait before a deploy whose handling failed for the moment is tried again the first time, ms (doubles each time). */
const DEPLOY_INBOX_RETRY_MS = 30_000;
/** Longest wait between two tries of one deploy, ms. */
const DEPLOY_INBOX_RETRY_MAX_MS = 10 * 60_000;
/** A deploy that still fails this long after its first failure is dropped (and the account told), ms. */
const DEPLOY_INBOX_GIVE_UP_MS = 60 * 60_000;

/** A file whose handling failed for the moment. */
interface Retry {
  /** Not before, ms since the epoch. */
  at: number;
  tries: number;
  firstFailedAt: number;
}

export interface DeployInboxOptions {
  dir: string;
  /** Largest deploy read, bytes: a larger file is refused unread. */
  maxBytes: number;
  clock: Clock;
  log: HostLog;
  /** Handle one deploy (DeployWatcher.installArrived): refusals are its to log; a throw means "try again later". */
  install: (account: string, raw: Uint8Array) => Promise<void>;
  /** Tell an account its deploy was refused here (over the cap, or given up after failing for an hour); must not throw. */
  refused?: (account: string, reason: string) => Promise<void>;
}

/** The user this process runs as, for the fix in messages. */
function hostUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "chatbot";
  }
}

/** The account a dropped file's name names, or undefined for a name no hook of ours writes. */
export function droppedAccount(name: string): string | undefined {
  const account = DROPPED.exec(name)?.[3]?.toLowerCase();
  // No leading dot: the account names a folder (bots/ADDR), and the hook never writes one.
  return account !== undefined && !account.startsWith(".") && isAccountAddress(account) ? account : undefined;
}

/** Watches the deploy inbox and hands each deploy to the deploy watcher. */
export class DeployInbox {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Files whose handling failed for the moment, by name. */
  private readonly retries = new Map<string, Retry>();
  private readonly perAccount = new AccountHourly(DEPLOYS_PER_ACCOUNT_PER_HOUR);

  constructor(private readonly options: DeployInboxOptions) {}

  /** Check the folder, then watch it (inotify, and a scan every DEPLOY_INBOX_SCAN_MS for what it misses). */
  async start(): Promise<void> {
    const { dir, log } = this.options;
    const info = await stat(dir).catch(() => undefined);
    const fix = `as root: install -d -o ${hostUser()} -g vmail -m 2770 ${dir} (vmail: the group Dovecot's mail processes run as), or run 'chatbot host setup'`;
    if (!info?.isDirectory()) throw new ChatbotError("E_CONFIG", `host.json deployInbox: ${dir} is not a folder; ${fix}`);
    if ((info.mode & 0o007) !== 0)
      throw new ChatbotError("E_CONFIG", `host.json deployInbox: ${dir} is open to every user (mode ${(info.mode & 0o7777).toString(8)}); ${fix}`);
    this.watcher = watch(dir, () => this.poke());
    this.watcher.on("error", (error) => log({ event: "deploy.error", error: `watching ${dir}: ${error.message}` }));
    this.timer = setInterval(() => this.poke(), DEPLOY_INBOX_SCAN_MS);
    log({ event: "deploy.watching", inbox: dir });
    this.poke();
  }

  /** Look into the folder now (or right after the look in progress). */
  poke(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        await this.scan().catch((error: unknown) => this.options.log({ event: "deploy.error", error: describeError(error) }));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.scanning = undefined;
    });
  }

  /** One pass: the oldest ready file of each account, in time order; `again` when an account had more. */
  private async scan(): Promise<void> {
    const { dir, clock, log } = this.options;
    const names = (await readdir(dir)).sort();
    for (const name of this.retries.keys()) if (!names.includes(name)) this.retries.delete(name);
    const taken = new Set<string>();
    for (const name of names) {
      if (this.stopped) return;
      const file = join(dir, name);
      if (name.startsWith(".")) {
        // A hook still writing, or one that died: only the latter is removed.
        const info = await stat(file).catch(() => undefined);
        if (info && clock.now() - info.mtimeMs > DEPLOY_INBOX_STALE_MS) await unlink(file).catch(() => undefined);
        continue;
      }
      if ((this.retries.get(name)?.at ?? 0) > clock.now()) continue;
      const account = droppedAccount(name);
      if (account === undefined) {
        log({ event: "deploy.stray", file: name.slice(0, 200) });
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (taken.has(account)) {
        this.again = true;
        continue;
      }
      taken.add(account);
      await this.handle(name, file, account);
    }
  }

  /** One dropped file of `account`: refused, dropped, handed to the watcher, or kept for a retry. */
  private async handle(name: string, file: string, account: string): Promise<void> {
    const { maxBytes, clock, log, install } = this.options;
    const retry = this.retries.get(name);
    if (!retry && !this.perAccount.take(account, clock.now())) {
      // Appending costs the account nothing: what it can make the host do has a bound.
      if (this.perAccount.firstOver(account, clock.now()))
        log({
          event: "deploy.refused",
          account,
          reason: `E_DEPLOY: over ${DEPLOYS_PER_ACCOUNT_PER_HOUR} deploys in an hour; the rest of this hour's are dropped`,
        });
      await unlink(file).catch(() => undefined);
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return;
    if (info.size > maxBytes) {
      const reason = `E_DEPLOY: ${info.size} bytes or more, over the host's cap of ${maxBytes} for a deploy: build a smaller bot`;
      log({ event: "deploy.refused", account, reason });
      await unlink(file).catch(() => undefined);
      await this.options.refused?.(account, reason);
      return;
    }
    const raw = await readFile(file);
    const nonce = probeNonce(raw);
    if (nonce !== undefined) {
      // `host doctor`'s probe of the whole path: logged for it to find, never installed.
      log({ event: "deploy.probe", account, nonce });
      await unlink(file).catch(() => undefined);
      return;
    }
    log({ event: "deploy.received", account, bytes: raw.length });
    try {
      await install(account, raw);
    } catch (error) {
      const now = clock.now();
      const firstFailedAt = retry?.firstFailedAt ?? now;
      if (now - firstFailedAt >= DEPLOY_INBOX_GIVE_UP_MS) {
        const reason = `E_DEPLOY: the host could not act on it for ${Math.round((now - firstFailedAt) / 60_000)} minutes (${describeError(error)}); deploy again, or ask the relay's operator if it keeps failing`;
        log({ event: "deploy.refused", account, reason });
        this.retries.delete(name);
        await unlink(file).catch(() => undefined);
        await this.options.refused?.(account, reason);
        return;
      }
      const tries = (retry?.tries ?? 0) + 1;
      const wait = Math.min(DEPLOY_INBOX_RETRY_MS * 2 ** (tries - 1), DEPLOY_INBOX_RETRY_MAX_MS);
      log({ event: "deploy.error", error: `${account}: ${describeError(error)}; tried again in ${Math.round(wait / 1000)} s` });
      this.retries.set(name, { at: now + wait, tries, firstFailedAt });
      return;
    }
    this.retries.delete(name);
    await unlink(file).catch(() => undefined);
  }

  /** For the pipeline's rest (pipeline-rest.ts): busy while a look runs, a file waits for a retry, or an account's hourly count must be kept. */
  restAnswer(now: number): RestAnswer {
    return this.scanning !== undefined || this.retries.size > 0 || this.perAccount.liveUntil > now ? "busy" : Number.POSITIVE_INFINITY;
  }

  /** Resolves once no look is in progress (each look runs until no account has a ready file left). */
  async idle(): Promise<void> {
    while (this.scanning) await this.scanning;
  }

  /** Stop watching after the deploy in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }
}
