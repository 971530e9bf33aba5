// Which answer a message gets: whole-word, case-insensitive matching of keywords and phrases.
// Pure functions: no bot, no state.

/** A chat's own answer, as /add stored it (`keyword` is already normalized). */
export interface Entry {
  keyword: string;
  answer: string;
}

/** A configured keyword rule: any phrase in `match` gives `answer`. */
export interface KeywordRule {
  match: string[];
  answer: string;
}

/** The answer for a message, and an id for its cooldown (the keyword, or "#n" for CONFIG rule n). */
export interface Found {
  id: string;
  answer: string;
}

/**
 * Lowercase, every run of characters that are not letters or digits becomes one space, no spaces
 * at the ends: "Wi-Fi??  Password" → "wi fi password". Keywords and messages are compared in this
 * form, so case, punctuation and spacing never matter.
 */
export function normalize(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Does the normalized `text` contain the normalized `phrase` as whole words? */
function contains(paddedText: string, phrase: string): boolean {
  return phrase !== "" && paddedText.includes(` ${phrase} `);
}

/**
 * The answer for `text`: the chat's own entries come first (so a chat can override a built-in
 * answer), then the configured rules; within each, the longest matching phrase wins, so
 * "opening hours sunday" beats "opening hours".
 */
export function answerFor(text: string, entries: readonly Entry[], rules: readonly KeywordRule[]): Found | undefined {
  const padded = ` ${normalize(text)} `;
  let best: { found: Found; length: number } | undefined;
  for (const entry of entries) {
    if (contains(padded, entry.keyword) && entry.keyword.length > (best?.length ?? 0)) {
      best = { found: { id: entry.keyword, answer: entry.answer }, length: entry.keyword.length };
    }
  }
  if (best) return best.found;
  for (const [index, rule] of rules.entries()) {
    for (const phrase of rule.match.map(normalize)) {
      if (contains(padded, phrase) && phrase.length > (best?.length ?? 0)) {
        best = { found: { id: `#${index}`, answer: rule.answer }, length: phrase.length };
      }
    }
  }
  return best?.found;
}

/** The answer for `/name`: a chat entry or a configured phrase that is exactly `name`. */
export function answerForCommand(name: string, entries: readonly Entry[], rules: readonly KeywordRule[]): string | undefined {
  const wanted = normalize(name);
  if (wanted === "") return undefined;
  return entries.find((e) => e.keyword === wanted)?.answer ?? rules.find((r) => r.match.some((m) => normalize(m) === wanted))?.answer;
}
