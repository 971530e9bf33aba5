// The relay bot host: the bot that speaks for the chatbot host of a relay (host.json "hostBot").
// The host itself sends its notices from this account (deploys installed or refused, a pause, an
// operator's disable, a bot that keeps failing: host/service/author-notices.ts); this bundle only
// answers people who write to it, so they know what it is. Installed by
// `chatbot host install ADDR --host-bot`, never by an author.
import { defineBot } from "chatbot/std";

const ABOUT = [
  "I am the chatbot host of this relay. Any account here can become a bot: run 'chatbot deploy' with the account's address and password.",
  "",
  "I tell each account that deploys a bot what became of it: installed, refused (and why), paused, disabled by the operator, or failing.",
  "Scan my invite from the bot account's own Delta Chat profile before its first deploy: then my notices to it are end-to-end encrypted and come from a verified contact.",
  "",
  "/help — this text",
].join("\n");

export default defineBot({
  async message(msg, bot) {
    if (msg.reaction) return;
    await bot.reply(ABOUT);
  },
});
