// The LMTP door (DESIGN §2a, RFC 2033): `host serve` listens on a unix socket; Postfix delivers bot
// addresses to it with the transport `lmtp:unix:<socket>` — no process per mail. LMTP answers once
// per recipient after DATA, and each bot recipient gets its own spool entry: a recipient is answered
// 250 only after its entry was durably written, 451 4.3.0 when that failed (Postfix retries just that
// recipient), 552 when the mail is over the size limit. RCPT for an address that is not a bot is
// refused for now with 450, so Postfix keeps it and retries: a bot just removed gets its mail in its
// mailbox once Postfix's transport table (transport-map.ts) no longer routes it here; never a bounce.
//
// Who may connect: the socket is mode 0660 (owner: the host user). Postfix's lmtp client runs as
// `postfix`, so the socket's group must be one postfix is in, and its folder searchable by it. The
// recipe (README "Install"): root makes the folder setgid postfix — `install -d -o chatbot -g postfix
// -m 2750 /var/spool/postfix/chatbot` — so the socket inherits group postfix with no chown and no
// group membership for the host user. `socketGroup` is checked after listen: a socket that did not
// get it is chowned (root, or a member of the group, may), else the door closes, removes the socket
// and fails with the fix: a door Postfix cannot use must not answer at all (Postfix then defers and
// retries, and the service exits so its supervisor sees it). There is no AUTH and no TLS: only
// local processes with those permissions can reach the socket at all.
import { existsSync } from "node:fs";
import { chmod, chown, lstat, unlink } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { userInfo } from "node:os";
import { dirname } from "node:path";
import { SMTPServer, type SMTPServerDataResult, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { ChatbotError, isChatbotError } from "../../core/errors.js";
import { LMTP_CLOSE_GRACE_MS } from "../../core/limits.js";
import { unlinkIfPresent } from "../spool/durable-fs.js";
import type { Spool, SpoolEntry } from "../spool/spool.js";
import { groupName } from "./unix-groups.js";
import type { HostLog } from "./host-event.js";

/** Mode of the socket file: the host user and its group (Postfix) may connect, nobody else. */
const LMTP_SOCKET_MODE = 0o660;

/** What the LMTP door needs. */
export interface LmtpServerOptions {
  /** Absolute path of the unix socket (a stale socket file there is replaced). */
  socketPath: string;
  spool: Spool;
  /** Whether an address (lower case) is an installed bot; asked at RCPT time. */
  isBot: (addr: string) => boolean;
  /** Largest mail accepted, bytes: advertised as SIZE (RFC 1870), larger mail gets 552. */
  maxBytes: number;
  log: HostLog;
  /** Told of each entry once it is durably spooled (and logged `lmtp.spooled`): how `host serve` wakes its drain loop. Must not throw. */
  onSpooled?: (entry: SpoolEntry) => void;
  /** Group id the socket must have (so Postfix can connect); unchecked when absent. */
  socketGroup?: number;
}

/** A running LMTP door. */
export interface LmtpServer {
  /** Stop accepting, end the sessions between transactions (421), let one in DATA finish (up to LMTP_CLOSE_GRACE_MS), remove the socket. */
  close(): Promise<void>;
}

/** An SMTP-style error reply: smtp-server sends `responseCode` and adds the enhanced status code. */
function reply(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** Start the LMTP door on `socketPath`; resolves once it listens. */
export async function startLmtpServer(options: LmtpServerOptions): Promise<LmtpServer> {
  const { socketPath, spool, isBot, maxBytes, log } = options;
  await removeStaleSocket(socketPath).catch((error: NodeJS.ErrnoException) => {
    throw isChatbotError(error) ? error : listenError(socketPath, error);
  });
  const server = new SMTPServer({
    lmtp: true,
    name: "chatbot",
    banner: "chatbot host LMTP",
    logger: false,
    // A local unix socket: no TLS to offer, no login to ask for, no peer address to look up.
    secure: false,
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    disableReverseLookup: true,
    size: maxBytes,
    rejectOversized: true,
    // RFC 3463 codes (5.1.1, 4.3.0, …) go into Postfix's log and bounces; smtp-server hides them by default.
    hideENHANCEDSTATUSCODES: false,
    closeTimeout: LMTP_CLOSE_GRACE_MS,
    onRcptTo(address, _session, callback) {
      const addr = address.address.toLowerCase();
      if (isBot(addr)) return callback();
      log({ event: "lmtp.rcpt-refused", rcpt: addr });
      // Temporary, not 550: mail for a bot just removed (or not yet installed) still reaches this
      // door until Postfix has read its new transport table; deferred, it is retried and then goes
      // to the mailbox (or the bot) instead of bouncing (issue 13, part 3).
      callback(
        reply(
          450,
          `<${addr}>: not a bot on this host now; Postfix retries, and delivers to the mailbox once its transport table no longer routes the address here`,
        ),
      );
    },
    onData(stream, session, callback) {
      spoolForRecipients(stream, session).then(
        (results) => callback(null, results),
        (error: unknown) => {
          log({ event: "lmtp.error", error: String(error) });
          callback(reply(451, "cannot spool the mail, try again later"));
        },
      );
    },
  });

  /** One spool entry per recipient; the mail streams into the first, the others copy that file. */
  async function spoolForRecipients(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<SMTPServerDataResult[]> {
    const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
    const results: SMTPServerDataResult[] = [];
    let first: SpoolEntry | undefined;
    let failure: Error | undefined;
    try {
      // destroyOnReturn: false — when the write stops early (too large, disk error) the rest of
      // DATA must still be read to its end, or the connection would hang instead of answering.
      first = await spool.write(recipients[0]!, stream.iterator({ destroyOnReturn: false }), maxBytes);
    } catch (error) {
      failure = failureReply(error, maxBytes);
      log({ event: "lmtp.spool-failed", bot: recipients[0], error: String(error) });
    } finally {
      if (stream.readable) stream.resume();
    }
    for (const [index, rcpt] of recipients.entries()) {
      if (!first) {
        results.push(failure!);
        continue;
      }
      try {
        const entry = index === 0 ? first : await spool.write(rcpt, spool.stream(first), maxBytes);
        log({ event: "lmtp.spooled", bot: rcpt, entry: entry.id, from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "" });
        options.onSpooled?.(entry);
        results.push(`${entry.id} spooled`);
      } catch (error) {
        log({ event: "lmtp.spool-failed", bot: rcpt, error: String(error) });
        results.push(failureReply(error, maxBytes));
      }
    }
    return results;
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenError(socketPath, error));
    server.once("error", failed);
    server.listen(socketPath, () => {
      server.off("error", failed);
      resolve();
    });
  });
  // Errors after start (a broken connection) are per connection; log them, never crash the host.
  server.on("error", (error: Error) => log({ event: "lmtp.error", error: error.message }));
  try {
    await settleSocketGroup(socketPath, options.socketGroup);
    await chmod(socketPath, LMTP_SOCKET_MODE);
  } catch (error) {
    // Never half-started: close the door and remove its socket before reporting why.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlinkIfPresent(socketPath);
    throw error;
  }
  log({ event: "lmtp.listening", socket: socketPath });

  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeIdleSessions(server);
      })),
  };
}

/** The parts of smtp-server's connection objects a stopping door uses (its own close() uses them too; they are not in its types). */
interface DoorSession {
  session?: { envelope?: { mailFrom?: unknown } };
  _dataStream?: unknown;
  _socket?: Socket;
  send(code: number, text: string): void;
  close(): void;
}

/**
 * End at once the sessions that are between transactions. Postfix keeps its connections to the
 * door open between mails (lmtp_connection_cache_destinations, host/setup/lmtp-cache.ts); smtp-server's
 * close waits for every connection up to closeTimeout, so a stopping host would wait for Postfix to
 * drop an idle one (up to lmtp_connection_cache_time_limit, 2 s: measured 1.5 s). A session with a
 * MAIL FROM is left alone: in DATA it finishes (LMTP_CLOSE_GRACE_MS); before DATA, smtp-server
 * answers its next command with 421 itself. A 421 is safe at any point: Postfix keeps a mail it has
 * not had a 250 for and tries it again.
 */
function closeIdleSessions(server: SMTPServer): void {
  const connections = (server as unknown as { connections?: unknown }).connections;
  if (!(connections instanceof Set)) return;
  for (const connection of connections as Set<DoorSession>) {
    if (connection.session?.envelope?.mailFrom || connection._dataStream) continue;
    connection.send(421, "chatbot host is stopping, try again later");
    connection.close();
    // close() only half-closes; Postfix's cache holds its end without reading until its time
    // limit, and the server closes only once every socket has. So the socket goes as soon as the
    // 421 is written (Postfix probes a cached connection with RSET before it reuses one).
    const socket = connection._socket;
    if (socket && !socket.destroyed) {
      if (socket.writableFinished) socket.destroy();
      else socket.once("finish", () => socket.destroy());
    }
  }
}

/**
 * Make sure the socket has group `gid`. A setgid folder of that group gave it already; otherwise
 * chown, which only root or a member of the group may do: anyone else gets the fix to apply.
 */
async function settleSocketGroup(socketPath: string, gid: number | undefined): Promise<void> {
  if (gid === undefined) return;
  const actual = (await lstat(socketPath)).gid;
  if (actual === gid) return;
  try {
    await chown(socketPath, -1, gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
    const folder = dirname(socketPath);
    throw new ChatbotError(
      "E_CONFIG",
      `the LMTP socket ${socketPath} got group ${groupName(actual)}, not ${groupName(gid)} (lmtpSocketGroup), and this user (${currentUser()}) may not change it. ` +
        `As root, give its folder that group and the setgid bit, so the socket inherits the group: install -d -o ${currentUser()} -g ${groupName(gid)} -m 2750 ${folder} (README "Install")`,
    );
  }
}

/** The user this process runs as, for messages. */
function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** A listen failure with what to do: the socket's folder is missing or not writable by this user. */
function listenError(socketPath: string, error: NodeJS.ErrnoException): Error {
  const folder = dirname(socketPath);
  const fix = `as root: install -d -o ${currentUser()} -g postfix -m 2750 ${folder} (README "Install"), or set lmtpSocket in host.json`;
  // Node reports a missing folder as EACCES when it binds a unix socket: look for the folder first.
  if (error.code === "ENOENT" || !existsSync(folder))
    return new ChatbotError("E_CONFIG", `cannot listen for LMTP on ${socketPath}: the folder ${folder} does not exist; ${fix}`, { cause: error });
  if (error.code === "EACCES")
    return new ChatbotError("E_CONFIG", `cannot listen for LMTP on ${socketPath}: ${currentUser()} may not create files in ${folder}; ${fix}`, {
      cause: error,
    });
  return error;
}

/** The per-recipient answer for a failed spool write. */
function failureReply(error: unknown, maxBytes: number): Error {
  if (isChatbotError(error, "E_MAIL_TOO_LARGE")) return reply(552, `message exceeds fixed maximum message size ${maxBytes}`);
  return reply(451, `cannot spool the mail, try again later`);
}

/**
 * Remove a socket file left by a host that did not shut down cleanly. A socket someone still
 * listens on, or a path that is not a socket at all, is left alone: that is the operator's to sort out.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const info = await lstat(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!info) return;
  if (!info.isSocket()) throw new ChatbotError("E_CONFIG", `${socketPath} exists and is not a socket; remove it or choose another LMTP socket path`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) throw new ChatbotError("E_CONFIG", `another process already serves LMTP on ${socketPath}`);
  await unlink(socketPath);
}
