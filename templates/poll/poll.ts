// The poll itself, as plain data and pure functions: parsing "/poll", counting votes, the texts.
// bot.ts does the I/O (state, replies, status updates); this file is what the tests read first.

/** Most options a poll may have, and the longest question and option (in characters). */
export const MAX_OPTIONS = 12;
export const MAX_QUESTION_CHARS = 300;
export const MAX_OPTION_CHARS = 100;

/** A poll as kept in bot.state under `poll:<instanceId>`. */
export interface Poll {
  question: string;
  options: string[];
  /** The chat the poll app was sent to; votes from any other chat are ignored. */
  chatId: string;
  /** Address of who sent /poll: only they can /close it. */
  creator: string;
  /** ms since the epoch. */
  created: number;
  /** ms since the epoch when it was closed; absent while it is open. */
  closed?: number;
  /** Voter address (lowercase) → index into `options`. One vote per address; the latest wins. */
  votes: Record<string, number>;
}

/** What the app sends (webxdc.sendUpdate payload): a vote for option `option`, or `null` to take it back. */
export interface VotePayload {
  type: "vote";
  option: number | null;
}

/** What "/poll …" asks for, or why it cannot be a poll. */
export type ParsedPoll = { question: string; options: string[] } | { error: string };

export const USAGE = "Start a poll with: /poll Question? | Option 1 | Option 2 (or each option on its own line)";

/**
 * Parse the arguments of /poll: "Question | A | B", or the question and the options on separate
 * lines. Blank parts are dropped; 2 to MAX_OPTIONS distinct options are needed.
 */
export function parsePoll(args: string): ParsedPoll {
  const separator = args.includes("|") ? "|" : "\n";
  const parts = args
    .split(separator)
    .map((part) => part.replace(/\s+/g, " ").trim())
    .filter((part) => part !== "");
  const [question, ...options] = parts;
  if (question === undefined) return { error: USAGE };
  if (options.length < 2) return { error: `A poll needs at least two options. ${USAGE}` };
  if (options.length > MAX_OPTIONS) return { error: `A poll can have at most ${MAX_OPTIONS} options, this one has ${options.length}.` };
  if (question.length > MAX_QUESTION_CHARS) return { error: `The question is too long (at most ${MAX_QUESTION_CHARS} characters).` };
  const long = options.find((option) => option.length > MAX_OPTION_CHARS);
  if (long !== undefined) return { error: `The option "${long.slice(0, 20)}…" is too long (at most ${MAX_OPTION_CHARS} characters).` };
  const seen = new Set<string>();
  for (const option of options) {
    const key = option.toLowerCase();
    if (seen.has(key)) return { error: `"${option}" is there twice: every option must be different.` };
    seen.add(key);
  }
  return { question, options };
}

/**
 * The option a status update's payload votes for: an index, `null` to withdraw the vote, or
 * undefined when the payload is not a valid vote for this poll (ignored).
 */
export function voteOf(payload: unknown, poll: Poll): number | null | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const { type, option } = payload as Record<string, unknown>;
  if (type !== "vote") return undefined;
  if (option === null) return null;
  if (typeof option !== "number" || !Number.isInteger(option) || option < 0 || option >= poll.options.length) return undefined;
  return option;
}

/** Votes per option, in the options' order. */
export function countVotes(poll: Poll): number[] {
  const counts = poll.options.map(() => 0);
  for (const option of Object.values(poll.votes)) {
    if (option >= 0 && option < counts.length) counts[option]! += 1;
  }
  return counts;
}

/** The one-line tally shown under the app's icon: "Pizza 3 · Sushi 1", most votes first. */
export function summaryOf(poll: Poll): string {
  const counts = countVotes(poll);
  const ranked = poll.options
    .map((option, index) => ({ option, count: counts[index]! }))
    .filter((entry) => entry.count > 0)
    // Array.prototype.sort is stable: equal counts keep the options' order.
    .sort((a, b) => b.count - a.count);
  const line = ranked.length === 0 ? "No votes yet" : ranked.map((entry) => `${entry.option} ${entry.count}`).join(" · ");
  return poll.closed === undefined ? line : `Closed: ${line}`;
}

/** "1 vote" / "3 votes". */
function votes(n: number): string {
  return n === 1 ? "1 vote" : `${n} votes`;
}

/** The results as a chat message: a line with a bar per option, the total, and the winner once closed. */
export function resultsText(poll: Poll): string {
  const counts = countVotes(poll);
  const total = counts.reduce((sum, n) => sum + n, 0);
  const width = 10;
  const lines = poll.options.map((option, index) => {
    const count = counts[index]!;
    const share = total === 0 ? 0 : count / total;
    const filled = Math.round(share * width);
    return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${option}: ${count} (${Math.round(share * 100)}%)`;
  });
  const head = poll.closed === undefined ? `📊 ${poll.question}` : `📊 Final results: ${poll.question}`;
  const tail = [`${votes(total)} in total.`];
  if (poll.closed !== undefined) tail.push(winnerText(poll, counts));
  return [head, "", ...lines, "", ...tail].join("\n");
}

function winnerText(poll: Poll, counts: number[]): string {
  const best = Math.max(0, ...counts);
  if (best === 0) return "Nobody voted.";
  const winners = poll.options.filter((_, index) => counts[index] === best);
  if (winners.length === 1) return `"${winners[0]}" wins with ${votes(best)}.`;
  return `A tie between ${winners.map((w) => `"${w}"`).join(" and ")} with ${votes(best)} each.`;
}
