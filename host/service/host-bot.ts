// The relay bot host (issue 13, part 5): the bot that is the host's own voice, at host.json
// "hostBot". It is an installed bot like any (its own key, SecureJoin, mail through the LMTP door),
// running the bundle this package ships (host/host-bot/), so authors can verify it by its invite.
// Two things set it apart, both here: its notices to deploying accounts (author-notices.ts) and
// the way its mail reaches accounts that are bots on this host — into their INBOX over IMAP, not
// through Postfix, which would hand it to the bot instead of its author's Delta Chat.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { buildBot } from "../../bundler/build.js";
import { packageRoot } from "../../bundler/package-root.js";
import type { OutgoingMail } from "../wire/bot-message.js";
import type { SmtpSubmitter } from "../wire/smtp-submit.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import type { HostConfig } from "./host-config.js";
import { installBundle, type InstallResult } from "./install-bot.js";
import { hostPaths, isInstalledBot } from "./paths.js";

/** The relay bot host's bundle source in this package. */
export function hostBotSource(): string {
  return join(packageRoot(), "host", "host-bot");
}

/** Build the shipped bundle and install it at `addr`; host.json's hostBot becomes `addr`. */
export async function installHostBot(
  dataDir: string,
  config: Parameters<typeof installBundle>[1],
  addr: string,
  options: { password?: string; name: string },
): Promise<InstallResult> {
  const out = join(dataDir, "host-bot.build");
  await rm(out, { recursive: true, force: true });
  try {
    await buildBot(hostBotSource(), { outDir: out });
    const result = await installBundle(dataDir, config, addr, out, options);
    const file = hostPaths(dataDir).config;
    await writeJsonFile(file, { ...(await readJsonFile<Record<string, unknown>>(file, {})), hostBot: addr });
    return result;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Put a mail into `addr`'s INBOX (as the account, with its stored password). */
export type InboxAppender = (addr: string, raw: Uint8Array) => Promise<void>;

/**
 * The relay bot host's submitter: recipients that are bots on this host get the mail in their
 * INBOX (where their author's Delta Chat reads it: notices, SecureJoin answers, replies), the rest
 * over SMTP as usual. A failed append rejects like a failed submit: the mail is retried.
 */
export function hostBotSubmitter(dataDir: string, smtp: SmtpSubmitter, append: InboxAppender): SmtpSubmitter {
  return {
    async submit(mail: OutgoingMail) {
      const local = mail.recipients.filter((r) => isInstalledBot(dataDir, r));
      const others = mail.recipients.filter((r) => !local.includes(r));
      for (const addr of local) await append(addr, Buffer.from(mail.raw, "utf8"));
      if (others.length > 0) await smtp.submit({ ...mail, recipients: others });
    },
    close: () => smtp.close(),
  };
}

/** Whether host.json names a relay bot host that is installed. */
export function hostBotOf(dataDir: string, config: Pick<HostConfig, "hostBot">): string | undefined {
  return config.hostBot !== undefined && isInstalledBot(dataDir, config.hostBot) ? config.hostBot : undefined;
}
