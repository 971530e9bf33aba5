// The text of a Delta Chat message as its receiver shows it, and the escaping a sender applies so
// that happens to the bot's own text unchanged. Mirrors core's simplify.rs for chat messages
// (Chat-Version present): a leading forward header and top quote are not the sender's text, a
// "-- " line starts the signature footer, and lines the sender began with "-- " were escaped with
// a zero-width space (U+200B) so they survive.

const ZWSP = "\u200B";
const FORWARD_HEADER = "---------- Forwarded message ----------";

/** Escape footer marks and a leading ">" the way core does before sending (mimefactory.rs). */
export function escapeChatText(text: string): string {
  let escaped = text.startsWith("-- ") ? `-${ZWSP}- ${text.slice(3)}` : text;
  escaped = escaped.replace(/\n-- /g, `\n-${ZWSP}- `);
  // A text that itself starts with ">" would be read as a top quote: core puts an empty line first.
  return escaped.startsWith(">") ? `\n${escaped}` : escaped;
}

/**
 * The message text without a leading forward header, top quote (lines starting ">") or footer,
 * footer marks unescaped, leading empty lines and trailing whitespace removed. Blank lines inside the
 * text are kept as sent (core additionally collapses runs of them for display).
 */
export function simplifyChatText(body: string): string {
  let lines = body.replace(/\r\n?/g, "\n").split("\n");
  if (lines[0] === FORWARD_HEADER && lines[1]?.startsWith("From: ") && lines[2] === "") lines = lines.slice(3);
  let quoteEnd = 0;
  while (quoteEnd < lines.length && lines[quoteEnd]!.startsWith(">")) quoteEnd++;
  lines = lines.slice(quoteEnd);
  const footer = lines.findIndex((line) => line === "-- " || line === "--  ");
  if (footer >= 0) lines = lines.slice(0, footer);
  while (lines.length > 0 && lines[0]!.trim() === "") lines.shift();
  const text = lines.join("\n").replace(/\s+$/, "");
  return text.startsWith(`-${ZWSP}-`) ? `--${text.slice(3).replaceAll(`\n-${ZWSP}-`, "\n--")}` : text.replaceAll(`\n-${ZWSP}-`, "\n--");
}

/**
 * The text a Delta Chat client's message `text` reaches a bot as: escaped by the sender's core,
 * then simplified by the relay (simplifyChatText). For what the author's tools type instead of a
 * mail (`chatbot dev`'s lines, the test kit's message()): trailing whitespace and leading empty
 * lines go; a leading ">" or a "-- " line arrives as typed (core escapes them before sending).
 */
export function deliveredChatText(text: string): string {
  return simplifyChatText(escapeChatText(text));
}
