// The IMAP side of deploys, the one file that talks IMAP (imapflow): log in as a bot account, append
// a deploy to its ChatbotInstall folder, list and download the deploys there, delete an installed
// one, move a refused one aside. Every login also refreshes the account (chatmail deletes accounts
// after 90 days without an IMAP login, PROTOCOL §1).
// Types only: imapflow is imported at the first login. The pipeline's bundle (lib/host/pipeline.mjs,
// Makefile) leaves it out and hoists a static import of it to its top, which would load it (~0.3 s
// of CPU) at every start of the pipeline process, most of which log in nowhere.
import type { ImapFlow } from "imapflow";
import { ChatbotError } from "../../core/errors.js";
import { headerBlock } from "../mail/header-block.js";
import {
  DEPLOY_MESSAGE_MAX_BYTES,
  FOLDER_LIST_MAX,
  HEADER_SCAN_BYTES,
  IMAP_CONNECT_TIMEOUT_MS,
  IMAP_RESPONSE_MAX_BYTES,
  IMAP_SOCKET_TIMEOUT_MS,
} from "../../core/limits.js";
import { DEPLOY_FOLDER, DEPLOY_HEADER, REFUSED_FOLDER } from "./deploy-message.js";
import type { ImapSettings } from "./imap-settings.js";

export type { ImapSecurity, ImapSettings } from "./imap-settings.js";

/** A deploy message waiting in the folder. */
export interface WaitingDeploy {
  uid: number;
  /** RFC822.SIZE, bytes. */
  size: number;
}

/** One logged-in session of a bot account. */
export interface DeployMailbox {
  /** Append a deploy message to ChatbotInstall (created when missing); resolves with its UID when the server says. */
  append(raw: string | Uint8Array): Promise<number | undefined>;
  /** Deploy messages in ChatbotInstall (those with the marker header), oldest first, at most `limit`. */
  waiting(limit: number): Promise<WaitingDeploy[]>;
  /** The full message `uid` of ChatbotInstall. */
  download(uid: number): Promise<Uint8Array>;
  /** Delete message `uid` of ChatbotInstall (installed). */
  remove(uid: number): Promise<void>;
  /** Move message `uid` of ChatbotInstall to ChatbotInstall/Refused (created when missing). */
  refuse(uid: number): Promise<void>;
  /** Log out (or drop the connection if that fails). */
  close(): Promise<void>;
}

function imapError(error: unknown, what: string): ChatbotError {
  const e = error as { authenticationFailed?: boolean; responseText?: string; message?: string };
  const detail = e.responseText ?? e.message ?? String(error);
  if (e.authenticationFailed)
    return new ChatbotError("E_IMAP_AUTH", `${what}: the server refused the login (${detail}); check the account's password`, { cause: error });
  return new ChatbotError("E_IMAP", `${what}: ${detail}`, { cause: error });
}

/** A logged-in imapflow client, a name for it in errors, and a wrapper that turns its failures into E_IMAP. */
interface Session {
  client: ImapFlow;
  where: string;
  guard: <A extends unknown[], T>(what: string, fn: (...args: A) => Promise<T>) => (...args: A) => Promise<T>;
  close: () => Promise<void>;
}

async function connect(settings: Readonly<ImapSettings>, user: string, password: string): Promise<Session> {
  const { ImapFlow } = await import("imapflow");
  const client = new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.security === "tls",
    doSTARTTLS: settings.security === "starttls" ? true : settings.security === "plain" ? false : undefined,
    tls: { rejectUnauthorized: !settings.allowSelfSigned },
    auth: { user, pass: password },
    logger: false,
    clientInfo: { name: "chatbot" },
    disableAutoIdle: true,
    connectionTimeout: IMAP_CONNECT_TIMEOUT_MS,
    greetingTimeout: IMAP_CONNECT_TIMEOUT_MS,
    socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
    // Nothing the host reads is larger than a deploy; a server sending more ends the session.
    maxLiteralSize: DEPLOY_MESSAGE_MAX_BYTES,
    maxResponseSize: IMAP_RESPONSE_MAX_BYTES,
  });
  // imapflow emits 'error' on a dropped connection; unhandled it would end the process.
  client.on("error", () => {});
  const where = `IMAP ${settings.host}:${settings.port} as ${user}`;
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw imapError(error, where);
  }
  const guard =
    <A extends unknown[], T>(what: string, fn: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        return await fn(...args);
      } catch (error) {
        throw error instanceof ChatbotError ? error : imapError(error, `${where}: ${what}`);
      }
    };
  const close = async () => {
    try {
      await client.logout();
    } catch {
      client.close();
    }
  };
  return { client, where, guard, close };
}

/** Log in to `settings` as `user`; the session is the account's. Rejects with E_IMAP_AUTH or E_IMAP. */
export async function openDeployMailbox(settings: Readonly<ImapSettings>, user: string, password: string): Promise<DeployMailbox> {
  const { client, where, guard, close } = await connect(settings, user, password);
  let opened = false;
  /** Select ChatbotInstall; false when it does not exist. */
  const open = async (create: boolean): Promise<boolean> => {
    if (opened) return true;
    if (create) await client.mailboxCreate(DEPLOY_FOLDER);
    else if (!(await client.list()).some((box) => box.path === DEPLOY_FOLDER)) return false;
    await client.mailboxOpen(DEPLOY_FOLDER);
    opened = true;
    return true;
  };
  return {
    append: guard("append", async (raw) => {
      await client.mailboxCreate(DEPLOY_FOLDER);
      const result = await client.append(DEPLOY_FOLDER, typeof raw === "string" ? Buffer.from(raw, "utf8") : raw, ["\\Seen"]);
      if (!result) throw new ChatbotError("E_IMAP", `${where}: the server did not accept the message in ${DEPLOY_FOLDER}`);
      return result.uid;
    }),
    waiting: guard("list deploys", async (limit) => {
      if (!(await open(false))) return [];
      if (client.mailbox && client.mailbox.exists === 0) return [];
      // The server finds the deploys (SEARCH HEADER): whatever else the account keeps in the folder,
      // the host fetches the sizes of `limit` messages at most.
      const found = await client.search({ header: { [DEPLOY_HEADER]: true } }, { uid: true });
      const uids = (found || []).sort((a, b) => a - b).slice(0, limit);
      if (uids.length === 0) return [];
      const messages = await client.fetchAll(uids.join(","), { uid: true, size: true }, { uid: true });
      return messages.map((m) => ({ uid: m.uid, size: m.size ?? 0 })).sort((a, b) => a.uid - b.uid);
    }),
    download: guard("download", async (uid) => {
      await open(false);
      const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
      if (message === false || !message.source) throw new ChatbotError("E_IMAP", `${where}: message ${uid} of ${DEPLOY_FOLDER} is gone`);
      return message.source;
    }),
    remove: guard("delete", async (uid) => {
      await open(false);
      await client.messageDelete(String(uid), { uid: true });
    }),
    refuse: guard("move to Refused", async (uid) => {
      await open(false);
      await client.mailboxCreate([...REFUSED_FOLDER]);
      await client.messageMove(String(uid), [...REFUSED_FOLDER], { uid: true });
    }),
    close,
  };
}

/** A message in a folder the host keeps in the account: its UID and its marker header's value (undefined without one). */
export interface FolderMessage {
  uid: number;
  marker: string | undefined;
  /** RFC822.SIZE as the server lists it, bytes (checked before a download; absent from fakes). */
  size?: number;
  /** INTERNALDATE, when the server received it, ms since the epoch (seconds resolution; absent from fakes). */
  receivedAt?: number;
}

/** One logged-in session on one folder of a bot account (the host's own records there, e.g. ChatbotState). */
export interface FolderMailbox {
  /** The newest FOLDER_LIST_MAX messages in the folder, oldest UID first; [] when the folder does not exist. */
  list(): Promise<FolderMessage[]>;
  /** Append a message (folder created when missing); resolves with its UID when the server says. */
  append(raw: Uint8Array): Promise<number | undefined>;
  /** The full message `uid`. */
  download(uid: number): Promise<Uint8Array>;
  /** Delete (expunge) the messages `uids`. */
  remove(uids: readonly number[]): Promise<void>;
  /** Log out (or drop the connection if that fails). */
  close(): Promise<void>;
}

/** Log in as `user` and work on `folder`, whose messages carry the header `header` ("Name", no colon). */
export async function openFolderMailbox(
  settings: Readonly<ImapSettings>,
  user: string,
  password: string,
  folder: string,
  header: string,
): Promise<FolderMailbox> {
  const { client, where, guard, close } = await connect(settings, user, password);
  const markerLine = new RegExp(`^${header}:[ \\t]*(.*)$`, "im");
  const open = async (): Promise<boolean> => {
    if (client.mailbox && client.mailbox.path === folder) return true;
    if (!(await client.list()).some((box) => box.path === folder)) return false;
    await client.mailboxOpen(folder);
    return true;
  };
  return {
    list: guard(`list ${folder}`, async () => {
      if (!(await open())) return [];
      const exists = client.mailbox ? client.mailbox.exists : 0;
      if (exists === 0) return [];
      // The newest FOLDER_LIST_MAX only (by sequence number): an account can fill its own folders.
      const first = Math.max(1, exists - FOLDER_LIST_MAX + 1);
      const messages = await client.fetchAll(`${first}:*`, { uid: true, size: true, internalDate: true, headers: [header] });
      return messages
        .map((m) => ({
          uid: m.uid,
          size: m.size,
          receivedAt: m.internalDate === undefined ? undefined : new Date(m.internalDate).getTime(),
          marker: m.headers === undefined ? undefined : markerLine.exec(m.headers.toString("latin1").replace(/\r?\n[ \t]+/g, " "))?.[1]?.trim(),
        }))
        .sort((a, b) => a.uid - b.uid);
    }),
    append: guard(`append to ${folder}`, async (raw) => {
      await client.mailboxCreate(folder);
      const result = await client.append(folder, raw, ["\\Seen"]);
      if (!result) throw new ChatbotError("E_IMAP", `${where}: the server did not accept the message in ${folder}`);
      return result.uid;
    }),
    download: guard(`download from ${folder}`, async (uid) => {
      if (!(await open())) throw new ChatbotError("E_IMAP", `${where}: ${folder} is gone`);
      const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
      if (message === false || !message.source) throw new ChatbotError("E_IMAP", `${where}: message ${uid} of ${folder} is gone`);
      return message.source;
    }),
    remove: guard(`delete from ${folder}`, async (uids) => {
      if (uids.length === 0 || !(await open())) return;
      await client.messageDelete(uids.join(","), { uid: true });
    }),
    close,
  };
}

/** The Message-ID of `raw` ("<…>"), from its header block's first HEADER_SCAN_BYTES; undefined without one. */
export function headMessageId(raw: Uint8Array): string | undefined {
  return /^message-id:[ \t]*(<[^<>\s]{1,250}>)[ \t]*$/im.exec(headerBlock(raw, HEADER_SCAN_BYTES))?.[1];
}

/**
 * Log in as `user` and put `raw` into its INBOX, unseen: how the relay bot host's mail reaches an
 * account that is a bot here (host-bot.ts), where Postfix would hand it to the bot instead. A
 * message whose Message-ID is in the INBOX already is not appended again: a retry after an APPEND
 * whose answer was lost leaves one copy.
 */
export async function appendToInbox(settings: Readonly<ImapSettings>, user: string, password: string, raw: Uint8Array): Promise<void> {
  const { client, where, guard, close } = await connect(settings, user, password);
  const messageId = headMessageId(raw);
  try {
    await guard("append to INBOX", async () => {
      if (messageId !== undefined) {
        await client.mailboxOpen("INBOX", { readOnly: true });
        const found = await client.search({ header: { "Message-ID": messageId } }, { uid: true });
        if (found && found.length > 0) return;
      }
      const result = await client.append("INBOX", Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), []);
      if (!result) throw new ChatbotError("E_IMAP", `${where}: the server did not accept the message in INBOX`);
    })();
  } finally {
    await close();
  }
}
