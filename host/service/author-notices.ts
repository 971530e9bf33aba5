// The author hears back in their own chat app (issue 13, part 5): for each deploy installed or
// refused, a pause, a resume, a removal, an operator's disable, the host sends the deploying
// account — and only it — a message from the relay bot host (host-bot.ts). Every notice is also a
// `notice` line in the host's log, so the operator sees the same facts.
//
// Encrypted when the relay bot host has the account's key (the author scanned its invite from the
// account's Delta Chat profile, before its first deploy or since): then it is end-to-end encrypted
// and signed, from a verified contact. Without that key nothing can be encrypted to the account, so
// the notice goes in the clear, with the relay bot host's invite to fix that for the next ones.
//
// Delivered into the account's INBOX over IMAP when the host can log in as it (a bot here: its
// stored password; a deploy whose password logged in: that one): Postfix would hand mail for a bot
// to the bot, not to its author's Delta Chat. Otherwise (a deploy whose password did not log in)
// submitted over SMTP as the relay bot host; the account is no bot then, so it reaches its mailbox.
import type { RestAnswer } from "./pipeline-rest.js";
import { readFile } from "node:fs/promises";
import { domainOf } from "../../core/address.js";
import type { Clock } from "../../core/clock.js";
import { describeError } from "../../core/errors.js";
import { NOTICES_PER_ACCOUNT_PER_HOUR } from "../../core/limits.js";
import { AccountHourly } from "../policy/account-hourly.js";
import { appendToInbox } from "../deploy/imap-on-demand.js";
import type { OutgoingMail } from "../wire/bot-message.js";
import { createSmtpSubmitter } from "../wire/smtp-submit.js";
import { composeBotMessage } from "../wire/bot-message.js";
import { openBotAccount, type BotAccount } from "../wire/bot-account.js";
import { formatDate } from "../wire/mime/header-format.js";
import { encodeWords } from "../wire/mime/encoded-words.js";
import { newMessageId } from "../wire/mime/compose.js";
import { formatAutocryptHeader } from "../wire/pgp/autocrypt.js";
import { inviteLink } from "../wire/securejoin/invite-link.js";
import { readBotSettings } from "./bot-settings.js";
import type { HostConfig } from "./host-config.js";
import type { HostLog } from "./host-event.js";
import { hostBotOf } from "./host-bot.js";
import { hostPaths, isInstalledBot } from "./paths.js";

/** What a notice is about. */
export type NoticeKind = "installed" | "refused" | "paused" | "resumed" | "removed" | "disabled" | "enabled" | "failing";

/** The header that marks the host's notices (the INBOX catch-up leaves them where they are). */
export const NOTICE_HEADER = "X-Chatbot-Notice";

export interface AuthorNoticesDeps {
  dataDir: string;
  config: Pick<HostConfig, "hostBot">;
  clock: Clock;
  log: HostLog;
  /** Put a mail into `addr`'s INBOX, logged in with `password` (imap-mailbox.ts appendToInbox). */
  appendToInbox: (addr: string, password: string, raw: Uint8Array) => Promise<void>;
  /** Submit a mail over SMTP as the relay bot host `from`, with its stored password. */
  submitAs: (from: string, password: string, mail: OutgoingMail) => Promise<void>;
}

/** The notices of a host with this config: IMAP appends and SMTP submits to the relay in host.json. */
export function authorNoticesFor(dataDir: string, config: Pick<HostConfig, "hostBot" | "imap" | "smtp">, clock: Clock, log: HostLog): AuthorNotices {
  return new AuthorNotices({
    dataDir,
    config,
    clock,
    log,
    appendToInbox: (addr, password, raw) => appendToInbox(config.imap, addr, password, raw),
    submitAs: async (from, password, mail) => {
      const smtp = createSmtpSubmitter({ ...config.smtp, user: from, password });
      try {
        await smtp.submit(mail);
      } finally {
        smtp.close();
      }
    },
  });
}

/** Sends the host's notices to deploying accounts. */
export class AuthorNotices {
  private readonly perAccount = new AccountHourly(NOTICES_PER_ACCOUNT_PER_HOUR);
  /** Notices being sent now. */
  private sending = 0;

  constructor(private readonly deps: AuthorNoticesDeps) {}

  /**
   * Tell `account` what happened (`text`, one or more sentences). `password`: one that logged in as
   * the account just now (a new account's deploy); an installed bot's own is found by itself.
   * Never throws: a notice that cannot be sent is logged (notice.failed).
   */
  async notify(account: string, kind: NoticeKind, text: string, options: { password?: string } = {}): Promise<void> {
    this.sending += 1;
    try {
      await this.notifyNow(account, kind, text, options);
    } finally {
      this.sending -= 1;
    }
  }

  /** For the pipeline's rest (pipeline-rest.ts): busy while a notice is sent or an account's hourly count must be kept. */
  restAnswer(now: number): RestAnswer {
    return this.sending > 0 || this.perAccount.liveUntil > now ? "busy" : Number.POSITIVE_INFINITY;
  }

  private async notifyNow(account: string, kind: NoticeKind, text: string, options: { password?: string }): Promise<void> {
    const { dataDir, config, log } = this.deps;
    const hostBot = hostBotOf(dataDir, config);
    if (hostBot === undefined || hostBot === account) {
      log({ event: "notice", account, kind, text, delivery: null });
      return;
    }
    // The relay bot host's sends are one account's: one author must not use them up for the others.
    const now = this.deps.clock.now();
    if (!this.perAccount.take(account, now)) {
      // Logged once an hour, not each time: the log must not be floodable either.
      if (this.perAccount.firstOver(account, now)) log({ event: "notice", account, kind, text, delivery: "limited" });
      return;
    }
    try {
      const host = await this.hostBotAccount(hostBot);
      const peer = await host.peers.get(account);
      const key = peer ? await host.peers.key(peer.keydataBase64).catch(() => undefined) : undefined;
      const mail = key
        ? await composeBotMessage(
            host,
            { to: [{ addr: account }], recipients: [account], subject: "chatbot host", body: { kind: "text", text }, headers: [[NOTICE_HEADER, kind]] },
            { keys: [key] },
          )
        : await this.plainNotice(host, account, kind, text);
      // The marker outside too (an encrypted notice's own headers are inside): the INBOX catch-up reads it there.
      const raw = Buffer.from(key ? `${NOTICE_HEADER}: ${kind}\r\n${mail.raw}` : mail.raw, "utf8");
      const password = options.password ?? (isInstalledBot(dataDir, account) ? await this.passwordOf(account) : undefined);
      if (password !== undefined) await this.deps.appendToInbox(account, password, raw);
      else await this.deps.submitAs(hostBot, await this.passwordOf(hostBot), { ...mail, raw: raw.toString("utf8") });
      log({ event: "notice", account, kind, text, delivery: key ? (peer?.verified ? "verified" : "encrypted") : "plain" });
    } catch (error) {
      log({ event: "notice.failed", account, kind, error: describeError(error) });
    }
  }

  private async hostBotAccount(hostBot: string): Promise<BotAccount> {
    const name = (await readBotSettings(hostPaths(this.deps.dataDir).bot(hostBot).config))?.name ?? "Relay bot host";
    return openBotAccount(this.deps.dataDir, hostBot, name, this.deps.clock);
  }

  private async passwordOf(addr: string): Promise<string> {
    return (await readFile(hostPaths(this.deps.dataDir).bot(addr).password, "utf8")).trim();
  }

  /** A notice in the clear (no key to encrypt to), with the relay bot host's key and its invite. */
  private async plainNotice(host: BotAccount, account: string, kind: NoticeKind, text: string): Promise<OutgoingMail> {
    const tokens = await host.tokens.forInvite(undefined);
    const link = inviteLink({ fingerprint: host.identity.fingerprint, addr: host.addr, name: host.name, invitenumber: tokens.invitenumber, auth: tokens.auth });
    const body =
      `${text}\r\n\r\n` +
      `This notice is not end-to-end encrypted: I do not have this account's key yet. Open this invite in this account's Delta Chat ` +
      `to verify me; my next notices are then encrypted:\r\n${link}\r\n`;
    const messageId = newMessageId(domainOf(host.addr));
    const raw =
      `From: ${encodeWords(host.name)} <${host.addr}>\r\nTo: <${account}>\r\nDate: ${formatDate(new Date(this.deps.clock.now()))}\r\n` +
      `Message-ID: ${messageId}\r\nSubject: chatbot host\r\nChat-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n${NOTICE_HEADER}: ${kind}\r\n` +
      `Autocrypt: ${formatAutocryptHeader(host.addr, host.identity.keydataBase64)}\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`;
    return { from: host.addr, recipients: [account], raw, messageId };
  }
}
