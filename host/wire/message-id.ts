// Stable Message-IDs of the mails a bot's actions produce. One pure function shared by the
// sandbox bridge (which hands the id to the bot when it calls bot.reply/bot.send, so the bot can
// later delete, react to or resend that message) and by outbound composition (which writes it
// into the mail): both derive it from the same (bot address, event key, action index), so they
// cannot disagree, and a host that retries an event sends the same ids (PROTOCOL §6).
import { createHash } from "node:crypto";
import { domainOf } from "../../core/address.js";

/** The Message-ID "<32 base64url chars@bot domain>" of action `index` of the event `eventKey`. */
export function stableMessageId(botAddr: string, eventKey: string, index: number): string {
  const digest = createHash("sha256").update(`${botAddr}\n${eventKey}\n${index}`).digest("base64url").slice(0, 32);
  return `<${digest}@${domainOf(botAddr)}>`;
}
