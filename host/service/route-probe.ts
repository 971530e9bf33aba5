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
import { PROBE_HEADER, probeLogged, waitForProbe } from "./deploy-check.js";
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

/**
 * The bots a probe may go through, best first: routed (not paused) ones with a password, enabled
 * before disabled (an operator's `disable` may be about the account itself, e.g. its login).
 */
async function probeCandidates(dataDir: string): Promise<Array<{ bot: string; password: string; name: string }>> {
  const found: Array<{ bot: string; password: string; name: string; enabled: boolean }> = [];
  for (const bot of await routedBotAddresses(dataDir)) {
    const password = await readFile(hostPaths(dataDir).bot(bot).password, "utf8").catch(() => undefined);
    const settings = await readBotSettings(hostPaths(dataDir).bot(bot).config).catch(() => undefined);
    if (password === undefined || settings === undefined) continue;
    found.push({ bot, password: password.trim(), name: settings.name, enabled: settings.enabled });
  }
  return found.sort((a, b) => Number(b.enabled) - Number(a.enabled));
}

/** Send the probe through the best routed bot (probeCandidates); undefined when there is none. */
export async function probeRoute(dataDir: string, config: Pick<HostConfig, "smtp">, now: () => number = Date.now): Promise<RouteProbe | undefined> {
  for (const { bot, password, name } of await probeCandidates(dataDir)) {
    const nonce = randomBytes(12).toString("hex");
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
    const smtp = createSmtpSubmitter({ ...config.smtp, user: bot, password });
    try {
      await smtp.submit({ ...mail, raw: `${PROBE_HEADER}: ${nonce}\r\n${mail.raw}` });
    } catch (error) {
      return { bot, ms: null, error: (error as Error).message };
    } finally {
      smtp.close();
    }
    const waited = await waitForProbe(() => probeLogged(hostPaths(dataDir).logFile, nonce), ROUTE_PROBE_TIMEOUT_MS - (now() - started), now);
    return { bot, ms: waited === null ? null : now() - started };
  }
  return undefined;
}
