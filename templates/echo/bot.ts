// The echo bot: the smallest useful bot, and a tour of the API.
// The host runs this file once per incoming message, in a fresh sandbox: nothing survives
// between messages except what you store with `bot.state`.
import { defineBot } from "chatbot/std";

const HELP = ["I am an echo bot. I answer every message with its text.", "", "/help — this text", "Send me a file and I send it back."].join("\n");

export default defineBot({
  async message(msg, bot) {
    // A reaction to one of the bot's messages arrives as a message with `msg.reaction` set.
    if (msg.reaction) return;

    // `msg.command` is set when the text starts with "/name"; everything else is plain text.
    if (msg.command?.name === "help") {
      await bot.reply(HELP);
      return;
    }

    // With noUncheckedIndexedAccess, [0] may be undefined: that is the "no attachment" case.
    const file = msg.attachments[0];
    if (file) {
      // Attachment bytes are read only on demand, so a bot that ignores files pays nothing.
      await bot.reply({
        text: `echo: ${file.name} (${file.type}, ${file.size} bytes)`,
        file: { name: file.name, type: file.type, data: await file.bytes() },
      });
      return;
    }

    await bot.reply(`echo: ${msg.text}`);
  },
});
