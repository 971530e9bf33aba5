// The host's IMAP doors (imap-mailbox.ts), loaded on the first login rather than with the host:
// imapflow costs ~0.12 s of CPU and ~7 MiB to load, and a host whose bots keep no state and take no
// deploys may never log in (`host serve`'s start, a host at rest; issue 15).
import type * as ImapMailbox from "./imap-mailbox.js";

const imapMailbox = (): Promise<typeof ImapMailbox> => import("./imap-mailbox.js");

/** imap-mailbox.ts `openDeployMailbox`, loaded on first use. */
export const openDeployMailbox: typeof ImapMailbox.openDeployMailbox = async (...args) => (await imapMailbox()).openDeployMailbox(...args);

/** imap-mailbox.ts `openFolderMailbox`, loaded on first use. */
export const openFolderMailbox: typeof ImapMailbox.openFolderMailbox = async (...args) => (await imapMailbox()).openFolderMailbox(...args);

/** imap-mailbox.ts `appendToInbox`, loaded on first use. */
export const appendToInbox: typeof ImapMailbox.appendToInbox = async (...args) => (await imapMailbox()).appendToInbox(...args);
