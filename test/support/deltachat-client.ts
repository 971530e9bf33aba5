// Test support: a real Delta Chat client for end-to-end tests — a core's deltachat-rpc-server
// (npm @deltachat/stdio-rpc-server-linux-x64; MAIN_CORE, 2.57, unless a test names another core
// from dc-cores.ts) driven over stdio JSON-RPC with the @deltachat/jsonrpc-client of its version.
// One server process holds any number of accounts; each test file starts one and closes it. We
// spawn the binary ourselves instead of using the @deltachat/stdio-rpc-server wrapper: its other
// platform packages are not on our registry. Types are 2.57's; older clients share the calls used.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StdioDeltaChat, DcEvent, DcEventType, RawClient, T } from "@deltachat/jsonrpc-client";
import { MAIN_CORE, rpcServerPath, type DeltaChatCore } from "./dc-cores.js";
import { until } from "./poll.js";
import { diagnostics } from "./diagnostics.js";

/** Default wait for an event: a SecureJoin takes ~2.5 s and a message ~0.6 s on the test relay. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Events per account a timeout's message quotes, and how many it keeps to choose from. */
const RECENT_EVENTS = 25;
const RECENT_KEPT = 200;
/** How long a new account may take to reach IDLE on INBOX after its IO starts, ms. */
const INBOX_IDLE_WAIT_MS = 20_000;
/** How long close() lets the server stop its IO before killing it. */
const CLOSE_GRACE_MS = 3_000;

/** The parts of a TestRelay an account needs: its ports, and a way to create the mailbox. */
export interface RelayEndpoint {
  readonly imapPort: number;
  readonly submissionPort: number;
  addUser(addr: string, password: string): Promise<void>;
}

/** A running deltachat-rpc-server with its accounts in a temp directory. */
export interface DeltaChatDriver {
  /** Which core this server is. */
  readonly core: DeltaChatCore;
  /** The typed JSON-RPC client: every core API (`rpc.getMessage`, `rpc.secureJoin`, …). */
  readonly rpc: RawClient;
  /** Accounts directory; `rpc-server.log` (stderr + every event) is next to it. */
  readonly dir: string;
  /**
   * Create the mailbox on the relay (as a chatmail relay does on first login), add a core
   * account for it over plain IMAP/SMTP on 127.0.0.1, configure it and start its IO.
   */
  createAccount(relay: RelayEndpoint, name: string, addr: string, password: string): Promise<number>;
  /**
   * The first event on `accountId` that `predicate` accepts after this call. Call it BEFORE the
   * action that causes the event and await it after, or a fast event is missed.
   */
  waitFor<E extends DcEvent>(accountId: number, predicate: (event: DcEvent) => event is E, timeoutMs?: number, what?: string): Promise<E>;
  waitFor(accountId: number, predicate: (event: DcEvent) => boolean, timeoutMs?: number, what?: string): Promise<DcEvent>;
  /** The next incoming message on `accountId` (that `predicate` accepts), fully loaded. Same rule: call before acting. */
  waitForIncomingMessage(accountId: number, predicate?: (message: T.Message) => boolean, timeoutMs?: number): Promise<T.Message>;
  /**
   * Scan `link` (a QR invite, 1:1 or group) on `accountId` and wait until the join is done and the
   * chat can be written to; resolves with the chat id. Progress 1000 alone is not enough: a core
   * reports a group join done before it applied the member-added message that makes it a member,
   * and a send in between fails with "not a member of the chat" (seen on 1.160 and 2.57).
   */
  joinByQr(accountId: number, link: string, timeoutMs?: number): Promise<number>;
  /** Stop IO, end the server, forget pending waits, delete the directory unless CHATBOT_KEEP_DC=1. */
  close(): Promise<void>;
}

/** A type-guarding event predicate: `waitFor(id, eventIs("IncomingMsg", (e) => e.chatId === chat))`. */
export function eventIs<K extends DcEvent["kind"]>(kind: K, test: (event: DcEventType<K>) => boolean = () => true) {
  return (event: DcEvent): event is DcEventType<K> => event.kind === kind && test(event as DcEventType<K>);
}

/**
 * Log in the way cores before the transports API (~1.155) take it: the login settings, then
 * configure(). Security 3 = plain (core's Socket enum); certificate checks 2 = accept invalid.
 */
async function configureWithoutTransports(rpc: RawClient, accountId: number, relay: RelayEndpoint, addr: string, password: string): Promise<void> {
  await rpc.batchSetConfig(accountId, {
    addr,
    mail_pw: password,
    mail_server: "127.0.0.1",
    mail_port: String(relay.imapPort),
    mail_security: "3",
    mail_user: addr,
    send_server: "127.0.0.1",
    send_port: String(relay.submissionPort),
    send_security: "3",
    send_user: addr,
    imap_certificate_checks: "2",
  });
  await rpc.configure(accountId);
}

interface Waiter {
  readonly accountId: number;
  onEvent(event: DcEvent): void;
  fail(error: Error): void;
  /** Forget this wait without settling it (close()). */
  cancel(): void;
}

/** Start `core`'s deltachat-rpc-server with a fresh accounts directory. */
export async function startDeltaChat(core: DeltaChatCore = MAIN_CORE): Promise<DeltaChatDriver> {
  const { StdioDeltaChat: Client } = (await import(core.clientPackage)) as { StdioDeltaChat: typeof StdioDeltaChat };
  const root = await mkdtemp(join(tmpdir(), "chatbot-dc-"));
  const dir = join(root, "accounts");
  const logPath = join(root, "rpc-server.log");
  const recentEvents = new Map<number, string[]>();
  const log = createWriteStream(logPath);
  const child: ChildProcessWithoutNullStreams = spawn(rpcServerPath(core), [], {
    env: { DC_ACCOUNTS_PATH: dir, RUST_LOG: "warn", PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stderr.pipe(log, { end: false });
  // A write after the server died must surface as a failed call, not an unhandled EPIPE.
  child.stdin.on("error", () => {});

  const dc = new Client(child.stdin, child.stdout, true);
  const waiters = new Set<Waiter>();
  let closing = false;

  const failAll = (error: Error): void => {
    for (const waiter of [...waiters]) waiter.fail(error);
  };
  child.once("exit", (code, signal) => {
    if (closing) return;
    void readFile(logPath, "utf8").then(
      (text) => failAll(new Error(`deltachat-rpc-server exited (${code ?? signal}); log tail:\n${text.slice(-2000)}`)),
      () => failAll(new Error(`deltachat-rpc-server exited (${code ?? signal})`)),
    );
  });

  child.once("error", (error) => failAll(new Error(`deltachat-rpc-server: ${error.message}`)));

  dc.on("ALL", (accountId, event) => {
    const line = `${new Date().toISOString()} acc=${accountId} ${JSON.stringify(event)}`;
    log.write(`${line}\n`);
    // The account's last events, for a timeout's message: CI keeps no server logs.
    const recent = recentEvents.get(accountId) ?? [];
    recent.push(line.length > 300 ? `${line.slice(0, 300)}…` : line);
    if (recent.length > RECENT_KEPT) recent.shift();
    recentEvents.set(accountId, recent);
    for (const waiter of [...waiters]) if (waiter.accountId === accountId) waiter.onEvent(event);
  });

  /** Register a waiter now; it settles on the first event `onEvent` settles it for, or times out. */
  function addWaiter<R>(
    accountId: number,
    what: string,
    timeoutMs: number,
    onEvent: (event: DcEvent, settle: (value: R) => void, fail: (error: Error) => void) => void,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter: Waiter = {
        accountId,
        onEvent: (event) =>
          onEvent(
            event,
            (value) => {
              if (!waiters.has(waiter)) return;
              done();
              resolve(value);
            },
            (error) => waiter.fail(error),
          ),
        fail: (error) => {
          if (!waiters.has(waiter)) return;
          done();
          reject(error);
        },
        cancel: done,
      };
      const timer = setTimeout(
        () =>
          waiter.fail(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what} on account ${accountId}; events in ${logPath}; its last ${RECENT_EVENTS}:\n${(recentEvents.get(accountId) ?? []).slice(-RECENT_EVENTS).join("\n")}\n${otherAccounts(accountId)}${diagnostics()}`,
            ),
          ),
        timeoutMs,
      );
      waiters.add(waiter);
    });
  }

  /** The other accounts' last events, the ones that are not core chatter (a joiner's inviter is one of them). */
  function otherAccounts(accountId: number): string {
    const chatter = /"kind":"(Info|ConnectivityChanged|ImapConnected|SmtpConnected|ImapInboxIdle|AccountsItemChanged)"/;
    const blocks: string[] = [];
    for (const [other, events] of recentEvents) {
      if (other === accountId) continue;
      const telling = events.filter((line) => !chatter.test(line) || /securejoin|Secure-Join|smtp|imap.rs:7|error|warn/i.test(line)).slice(-10);
      blocks.push(`account ${other}, its last ${telling.length} telling events:\n${telling.join("\n")}`);
    }
    return blocks.length === 0 ? "" : `${blocks.join("\n")}\n`;
  }

  function waitFor(accountId: number, predicate: (event: DcEvent) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what = "an event"): Promise<DcEvent> {
    return addWaiter<DcEvent>(accountId, what, timeoutMs, (event, settle) => {
      if (predicate(event)) settle(event);
    });
  }

  const driver: DeltaChatDriver = {
    core,
    rpc: dc.rpc,
    dir,
    async createAccount(relay, name, addr, password) {
      await relay.addUser(addr, password);
      const accountId = await dc.rpc.addAccount();
      await dc.rpc.setConfig(accountId, "displayname", name);
      const progress: string[] = [];
      const onProgress = (id: number, event: DcEventType<"ConfigureProgress">): void => {
        if (id === accountId) progress.push(`${event.progress}${event.comment ? `: ${event.comment}` : ""}`);
      };
      dc.on("ConfigureProgress", onProgress);
      try {
        // "plain": no TLS at all on loopback; the relay's certificate is self-signed anyway.
        if (typeof dc.rpc.addOrUpdateTransport !== "function") await configureWithoutTransports(dc.rpc, accountId, relay, addr, password);
        else
          await dc.rpc.addOrUpdateTransport(accountId, {
            addr,
            password,
            imapServer: "127.0.0.1",
            imapPort: relay.imapPort,
            imapSecurity: "plain",
            imapUser: addr,
            imapFolder: null,
            smtpServer: "127.0.0.1",
            smtpPort: relay.submissionPort,
            smtpSecurity: "plain",
            smtpUser: addr,
            smtpPassword: null,
            certificateChecks: "acceptInvalidCertificates",
          });
      } catch (error) {
        throw new Error(`configuring ${addr} failed: ${(error as Error).message}; progress: ${progress.join(" | ")}`);
      } finally {
        dc.off("ConfigureProgress", onProgress);
      }
      // Until its first look into INBOX, a new account is not listening: the core takes the mail
      // already there as old (UIDNEXT at first select) and never fetches it. A QR scanned at once
      // had its answer land in that gap, and the join hung: the joiner waits for IDLE first.
      const listening = waitFor(
        accountId,
        (event) => event.kind === "ImapInboxIdle" || (event.kind === "Info" && /\bIDLE\b.*"INBOX"/.test(event.msg)),
        INBOX_IDLE_WAIT_MS,
        "its first IDLE on INBOX",
      ).catch(() => undefined); // a core that says neither: go on, as before
      await dc.rpc.startIo(accountId);
      await listening;
      return accountId;
    },
    waitFor,
    waitForIncomingMessage(accountId, predicate = () => true, timeoutMs = DEFAULT_TIMEOUT_MS) {
      return addWaiter<T.Message>(accountId, "an incoming message", timeoutMs, (event, settle, fail) => {
        if (event.kind !== "IncomingMsg") return;
        dc.rpc.getMessage(accountId, event.msgId).then((message) => {
          if (predicate(message)) settle(message);
        }, fail);
      });
    },
    async joinByQr(accountId, link, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const done = waitFor(
        accountId,
        eventIs("SecurejoinJoinerProgress", (e) => e.progress === 1000),
        timeoutMs,
        `${core.name} joiner progress 1000`,
      );
      const chatId = await dc.rpc.secureJoin(accountId, link);
      await done;
      await until(() => dc.rpc.canSend(accountId, chatId), `${core.name} account ${accountId} can send to chat ${chatId}`, timeoutMs, 200);
      return chatId;
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const waiter of [...waiters]) waiter.cancel(); // pending waits never settle now
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
      const grace = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref());
      await Promise.race([dc.rpc.stopIoForAllAccounts().catch(() => {}), grace(CLOSE_GRACE_MS)]);
      child.kill("SIGTERM");
      if ((await Promise.race([exited, grace(CLOSE_GRACE_MS)])) === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
      // The event loop's last getNextEventBatch call never answers now; it holds nothing open.
      child.stdout.destroy();
      await new Promise<void>((resolve) => log.end(resolve));
      if (process.env.CHATBOT_KEEP_DC !== "1") await rm(root, { recursive: true, force: true });
    },
  };
  return driver;
}
