// An in-memory relay for deploy-watcher tests: one ChatbotInstall folder per account behind a login
// that checks the account's password (a wrong one fails as imap-mailbox.ts reports it, E_IMAP_AUTH).
import { ChatbotError } from "../../core/errors.js";
import type { DeployMailbox } from "../../host/deploy/imap-mailbox.js";

/** `passwords`: each account's password, read at every login (a test may change it). */
export function fakeDeployRelay(passwords: Record<string, string>) {
  const folders = new Map<string, Map<number, string>>();
  /** Messages moved to Refused, per account and UID. */
  const refused: Array<{ account: string; uid: number }> = [];
  /** Every login tried, successful or not, by account. */
  const logins: string[] = [];
  let next = 1;
  const folderOf = (account: string) => folders.get(account) ?? folders.set(account, new Map()).get(account)!;
  const deposit = (account: string, raw: string) => {
    folderOf(account).set(next, raw);
    return next++;
  };
  const open = async (_settings: unknown, user: string, password: string): Promise<DeployMailbox> => {
    logins.push(user);
    if (passwords[user] !== password) throw new ChatbotError("E_IMAP_AUTH", `IMAP as ${user}: the server refused the login`);
    const folder = folderOf(user);
    return {
      append: async (raw) => deposit(user, typeof raw === "string" ? raw : Buffer.from(raw).toString()),
      waiting: async (limit) =>
        [...folder.keys()]
          .sort((a, b) => a - b)
          .slice(0, limit)
          .map((uid) => ({ uid, size: folder.get(uid)!.length })),
      download: async (uid) => new TextEncoder().encode(folder.get(uid)!),
      remove: async (uid) => void folder.delete(uid),
      refuse: async (uid) => {
        folder.delete(uid);
        refused.push({ account: user, uid });
      },
      close: async () => {},
    };
  };
  return { refused, logins, open, folderOf, deposit };
}
