// `chatbot host doctor`'s probe of a bot's route (issue 13, part 1): a mail from an installed bot to
// itself, submitted to the relay like any of its mail (encrypted to its own key, so a chatmail
// relay's outgoing filter lets it through), must come back through Postfix's transport table to
// the host's LMTP door. The host recognises it by its X-Chatbot-Probe header, logs route.probe and
// settles it without running the bot (entry-pipeline.ts). Waits for that log line.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { openBotAccount } from "../wire/bot-account.js";
import { composeBotMessage } from "../wire/bot-message.js";
import { createSmtpSubmitter } from "../wire/smtp-submit.js";
import { readBotSettings } from "./bot-settings.js";
import { PROBE_HEADER, probeLogged } from "./deploy-check.js";
import type { HostConfig } from "./host-config.js";
import { hostPaths, routedBotAddresses } from "./paths.js";

/** How long the probe may take from SMTP to the host's log, ms (Postfix retries a deferred mail within seconds on a test relay, minutes on a real one). */
const ROUTE_PROBE_TIMEOUT_MS = 20_000;

/** The probe's outcome: through which bot, how long it took (null: it did not arrive), or why it could not be sent. */
export interface RouteProbe {
  bot: string;
  ms: number | null;
  error?: string;
}

/** Send the probe through the first routed bot with a password; undefined when there is none. */
export async function probeRoute(dataDir: string, config: Pick<HostConfig, "smtp">, now: () => number = Date.now): Promise<RouteProbe | undefined> {
  for (const bot of await routedBotAddresses(dataDir)) {
    const password = await readFile(hostPaths(dataDir).bot(bot).password, "utf8").catch(() => undefined);
    if (password === undefined) continue;
    const nonce = randomBytes(12).toString("hex");
    const name = (await readBotSettings(hostPaths(dataDir).bot(bot).config).catch(() => undefined))?.name ?? bot;
    const account = await openBotAccount(dataDir, bot, name);
    const mail = await composeBotMessage(
      account,
      {
        to: [{ addr: bot }],
        recipients: [bot],
        subject: "chatbot host doctor probe",
        body: { kind: "text", text: "A probe of this bot's route; the host drops it." },
      },
      { keys: [account.identity.publicKey] },
    );
    const started = now();
    const smtp = createSmtpSubmitter({ ...config.smtp, user: bot, password: password.trim() });
    try {
      await smtp.submit({ ...mail, raw: `${PROBE_HEADER}: ${nonce}\r\n${mail.raw}` });
    } catch (error) {
      return { bot, ms: null, error: (error as Error).message };
    } finally {
      smtp.close();
    }
    while (now() - started < ROUTE_PROBE_TIMEOUT_MS) {
      if (await probeLogged(hostPaths(dataDir).logFile, nonce)) return { bot, ms: now() - started };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { bot, ms: null };
  }
  return undefined;
}
