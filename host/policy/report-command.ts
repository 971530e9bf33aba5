// `/report` (issue 13, part 6): anyone who writes to a bot 1:1 can report it to the relay's
// operator. The host answers, not the bot (the bot never sees the message), and the report is a
// `bot.refused` line whose reason starts with "report:" (counted by `host bots` and the metrics),
// so the operator finds it and can `chatbot host bots disable` the bot in one command.

/** The host's answer to a report. */
export const REPORT_TEXT = "Thank you: your report about this bot went to the operator of this relay, who decides what happens to it.";

/** The most of a report's words kept in the log line, characters. */
export const REPORT_TEXT_MAX_CHARS = 500;

/** The report's words when the message is `/report` (any case) with or without them; else undefined. */
export function reportCommand(text: string): string | undefined {
  const match = /^\s*\/report(?:\s+([\s\S]*))?$/i.exec(text);
  if (!match) return undefined;
  // One line of printable text: the log line stays one line, and no terminal escapes reach it.
  const words = (match[1] ?? "").replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return words.length > REPORT_TEXT_MAX_CHARS ? `${words.slice(0, REPORT_TEXT_MAX_CHARS)}…` : words;
}
