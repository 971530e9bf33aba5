// Test support for the host service: a fake clock, a fake SMTP submitter, and a bot installed the
// way an operator does it (`chatbot host init`, `new`, `build`, `host install`), optionally with
// its own bot.ts and manifest fields.
import { BotStateFile } from "../../host/service/bot-state-file.js";
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "../../host/cli/main.js";
import { hostPaths } from "../../host/service/paths.js";
import type { BotSettings } from "../../host/service/installed-bots.js";
import type { OutgoingMail } from "../../host/wire/bot-message.js";
import type { SmtpSubmitter } from "../../host/wire/smtp-submit.js";
import { captureIo, cliOrThrow } from "./cli-io.js";

export { FakeClock } from "./fake-clock.js";

/** What a FakeSmtp does on one submit (1-based count over its whole life). */
export type SubmitOutcome = "accept" | { fail: Error } | "hang";

/**
 * A submitter that records what it accepted. `plan(n, outcome)` makes submit number n fail or
 * hang forever (the process "dies" there: nothing after the submit runs, like kill -9).
 */
export class FakeSmtp implements SmtpSubmitter {
  readonly accepted: OutgoingMail[] = [];
  submits = 0;
  closed = false;
  private readonly outcomes = new Map<number, SubmitOutcome>();
  private always: SubmitOutcome = "accept";
  private hung: (() => void) | undefined;
  /** Resolves when a submit hangs. */
  readonly hang = new Promise<void>((resolve) => (this.hung = resolve));

  plan(n: number, outcome: SubmitOutcome): this {
    this.outcomes.set(n, outcome);
    return this;
  }

  /** Every submit from now on (unless planned otherwise) does `outcome`. */
  otherwise(outcome: SubmitOutcome): this {
    this.always = outcome;
    return this;
  }

  async submit(mail: OutgoingMail): Promise<void> {
    this.submits += 1;
    const outcome = this.outcomes.get(this.submits) ?? this.always;
    if (outcome === "hang") {
      this.hung?.();
      return new Promise<void>(() => {});
    }
    if (outcome !== "accept") throw outcome.fail;
    this.accepted.push(mail);
  }

  close(): void {
    this.closed = true;
  }
}

/** A bot to install: its bot.ts (default: the echo template's) and manifest fields to set. */
export interface BotSpec {
  addr: string;
  source?: string;
  manifest?: Record<string, unknown>;
}

/** `chatbot host init` in `work/data`; `config` is merged into host.json afterwards. Returns the data dir. */
export async function initHost(work: string, config: Record<string, unknown> = {}, initArgs: string[] = []): Promise<string> {
  const data = join(work, "data");
  const io = captureIo(work);
  if ((await runCli(["host", "init", "--data-dir", data, ...initArgs], io)) !== 0) throw new Error(`host init failed: ${io.err}`);
  const file = hostPaths(data).config;
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), ...config }));
  return data;
}

/** `chatbot new`, write the bot's source and manifest fields, `chatbot build`, `chatbot host install`. */
export async function installBot(work: string, data: string, spec: BotSpec, password = "bot-password-123"): Promise<void> {
  const folder = `bot-${spec.addr.replace(/[^a-z0-9]/g, "-")}`;
  const io = captureIo(work);
  const cli = cliOrThrow(io);
  await cli(["new", folder, "--name", "testbot"]);
  if (spec.source) writeFileSync(join(work, folder, "bot.ts"), spec.source);
  if (spec.manifest) {
    const file = join(work, folder, "chatbot.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), ...spec.manifest }, null, 2));
  }
  await cli(["build", folder]);
  writeFileSync(join(work, `${folder}.pw`), `${password}\n`, { mode: 0o600 });
  await cli(["host", "install", spec.addr, folder, "--password-file", `${folder}.pw`, "--name", "Test Bot", "--data-dir", data]);
}

/** The installed bot's settings (bot.json). */
export async function botSettings(data: string, addr: string): Promise<BotSettings> {
  return JSON.parse(await readFile(hostPaths(data).bot(addr).config, "utf8")) as BotSettings;
}

/** Change the installed bot's settings (the service reloads bot.json when it changed). */
export async function editBotSettings(data: string, addr: string, change: Partial<BotSettings>): Promise<void> {
  writeFileSync(hostPaths(data).bot(addr).config, JSON.stringify({ ...(await botSettings(data, addr)), ...change }));
}

/** The bot's state as its handlers see it (key → parsed JSON). */
export async function botState(data: string, addr: string): Promise<Record<string, unknown>> {
  // As a new host would read it: the snapshot and the changes logged since (bot-state-file.ts).
  const state = (await BotStateFile.forAccount(data, addr).read()) ?? {};
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, JSON.parse(v)]));
}

/** A bot that counts its runs in state and replies "run N: text" (and a second mail for "twice"). */
export const COUNTER_BOT = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    const runs = ((await bot.state.get<number>("runs")) ?? 0) + 1;
    await bot.state.set("runs", runs);
    await bot.reply(\`run \${runs}: \${msg.text}\`);
    if (msg.text === "twice") await bot.reply(\`second mail of run \${runs}\`);
  },
});
`;

/**
 * A bot with a subscriber list: "/sub" from a 1:1 chat subscribes it, anything else is echoed; its
 * tick sends "tick at <ISO time>" to every subscriber (the host drops sends to people who sent /stop).
 */
export const SUBSCRIBER_BOT = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    if (msg.command?.name === "sub") {
      const subscribers = (await bot.state.get<string[]>("subscribers")) ?? [];
      if (!subscribers.includes(msg.chat.id)) await bot.state.set("subscribers", [...subscribers, msg.chat.id]);
      await bot.reply("subscribed");
      return;
    }
    await bot.reply(\`echo: \${msg.text}\`);
  },
  async tick(bot, tick) {
    await bot.state.set("ticks", ((await bot.state.get<number>("ticks")) ?? 0) + 1);
    for (const chatId of (await bot.state.get<string[]>("subscribers")) ?? []) {
      await bot.send(chatId, \`tick at \${new Date(tick.at).toISOString()}\`);
    }
  },
});
`;

/** A bot that burns about \`ms\` of CPU per message (a busy loop on bot.now()), then echoes. */
export function cpuBurnerBot(ms: number): string {
  return `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    const start = bot.now();
    let spins = 0;
    while (bot.now() - start < ${ms}) spins += 1;
    await bot.reply(\`echo: \${msg.text}\`);
  },
});
`;
}
