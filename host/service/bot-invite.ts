// A bot's 1:1 invite link (what `chatbot host qr ADDR` prints), for the notice that tells an author
// their bot is installed: on a self-service relay the author has no other way to get it.
import { openBotAccount } from "../wire/bot-account.js";
import { inviteLink } from "../wire/securejoin/invite-link.js";
import { readBotSettings } from "./bot-settings.js";
import { hostPaths } from "./paths.js";

/** The invite link of the installed bot `addr`, with the name people see. */
export async function botInviteLink(dataDir: string, addr: string): Promise<string> {
  const name = (await readBotSettings(hostPaths(dataDir).bot(addr).config))?.name ?? addr;
  const account = await openBotAccount(dataDir, addr, name);
  const tokens = await account.tokens.forInvite(undefined);
  return inviteLink({ fingerprint: account.identity.fingerprint, addr, name, invitenumber: tokens.invitenumber, auth: tokens.auth });
}
