// Issue 14: the same mail gives a bot the same `msg` on the relay (a decrypted, verified inner
// message through receiveMail) as through `chatbot run --mail`, `chatbot dev`'s /mail and the test
// kit's mail() — including a Delta Chat reply whose top quote and footer the relay's chat-text
// simplification removes (the old local parser kept them in msg.text).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../host/cli/main.js";
import { EXIT } from "../../../host/cli/command.js";
import { devLoop } from "../../../host/cli/commands/dev.js";
import { Executor } from "../../../host/executor/executor.js";
import { createTestBot, type TestBot } from "../../../host/testing/index.js";
import { openBotAccount, type BotAccount } from "../../../host/wire/bot-account.js";
import { receiveMail } from "../../../host/wire/inbound.js";
import { parseInner } from "../../../host/wire/mime/parse-inner.js";
import { newIdentity, userMail, userMailFromInner } from "../../support/user-mail.js";
import { captureIo } from "../../support/cli-io.js";

/** Replies with the whole msg as JSON, each file's bytes as an array of numbers. */
const SOURCE = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    const attachments = [];
    for (const a of msg.attachments) attachments.push({ name: a.name, type: a.type, size: a.size, bytes: Array.from(await a.bytes()) });
    await bot.reply(JSON.stringify({ ...msg, attachments }));
  },
});
`;

const BOT = "bot@example.net";
// Each case's mail file (test/fixtures/mail) and its msg.text, so equality is not four identical mistakes.
const CASES: ReadonlyArray<[string, string]> = [
  ["plain.eml", "hello there"],
  ["command.eml", "/remind 2h tea"],
  ["attachment.eml", "here is a file"],
  ["group.eml", "hello group"],
  // A Delta Chat reply: top quote, the text, a "-- " signature footer — only the text is the sender's.
  ["quoted-footer.eml", "/remind 2h tea"],
  // A reaction has no text; msg.reaction says what it is.
  ["reaction.eml", ""],
];
const fixturePath = (name: string) => new URL(`../../fixtures/mail/${name}`, import.meta.url);

let cwd: string;
let botDir: string;
let executor: Executor;
let account: BotAccount;
let kit: TestBot;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), "relay-fidelity-"));
  botDir = join(cwd, "bot");
  expect(await runCli(["new", "bot"], captureIo(cwd))).toBe(EXIT.ok);
  await writeFile(join(botDir, "bot.ts"), SOURCE);
  for (const [name] of CASES) await writeFile(join(cwd, name), await readFile(fixturePath(name)));
  executor = new Executor();
  account = await openBotAccount(join(cwd, "account"), BOT, "Bot");
  kit = await createTestBot({ dir: botDir, botAddr: BOT });
}, 120_000);

afterAll(async () => {
  await kit?.close();
  await executor?.close();
  await rm(cwd, { recursive: true, force: true });
});

/** The relay's `msg` for a mail file: the file is the inner message, signed by its sender's (known) key and encrypted to the bot. */
async function relayMsg(raw: Buffer): Promise<unknown> {
  const sender = (await parseInner(raw, { maxBytes: raw.byteLength })).from!.addr;
  const identity = await newIdentity(sender);
  await account.peers.remember(sender, identity.fingerprint, identity.keydataBase64);
  const messageId = `<outer-${Math.random().toString(36).slice(2)}@example.org>`;
  const mail = await userMailFromInner({ from: sender, recipientKey: account.identity.publicKey, signer: identity, inner: raw.toString("utf8"), messageId });
  const inbound = await receiveMail(account, mail.raw, { maxBytes: 1024 * 1024 });
  if (inbound.kind !== "event" || inbound.event.kind !== "message") throw new Error(`the relay did not run the bot: ${JSON.stringify(inbound)}`);
  const { message } = inbound.event;
  // As the bot sees it (JSON of msg), each file's bytes as numbers.
  const attachments = message.attachments.map((a, i) => ({ ...a, bytes: Array.from(inbound.attachments[i]!) }));
  return JSON.parse(JSON.stringify({ ...message, attachments }));
}

async function runMsg(name: string): Promise<unknown> {
  const io = captureIo(cwd);
  io.executor = executor;
  expect(await runCli(["run", "bot", "--mail", name], io)).toBe(EXIT.ok);
  const { actions } = JSON.parse(io.out) as { actions: Array<{ text: string }> };
  return JSON.parse(actions[0]!.text);
}

describe("local fidelity: the same mail gives the same msg on the relay, in chatbot run, chatbot dev and the test kit", () => {
  it.each(CASES)(
    "%s",
    async (name, text) => {
      const raw = await readFile(fixturePath(name));
      const relay = await relayMsg(raw);
      expect((relay as { text: string }).text).toBe(text);

      const run = await runMsg(name);

      const io = captureIo(cwd);
      io.executor = executor;
      const input = Readable.from([`/mail ${name}\n`, "/quit\n"]);
      expect(await devLoop(botDir, io, { input, watch: false }, { extra: [], httpLoopback: false })).toBe(EXIT.ok);
      const devLine = io.out.split("\n").find((line) => line.startsWith("bot: "));
      const dev = JSON.parse(devLine!.slice("bot: ".length));

      const local = await kit.mail(raw);
      const testKit = JSON.parse(local.texts[0]!);

      expect(run).toEqual(relay);
      expect(dev).toEqual(relay);
      expect(testKit).toEqual(relay);
    },
    120_000,
  );
});

describe("local fidelity: a typed text (test kit message(), a dev line) arrives as a Delta Chat client's message with that text arrives on the relay", () => {
  it.each([
    ["trailing whitespace", "hello  \n", "hello"],
    ["leading empty lines", "\n\nhello", "hello"],
    ["a leading > (core escapes it: not a quote)", "> not a quote\nreally", "> not a quote\nreally"],
    ["a -- line (core escapes it: not a footer)", "text\n-- \nmore", "text\n-- \nmore"],
    ["a command", "/Remind 2h tea", "/Remind 2h tea"],
  ])(
    "%s",
    async (_what, typed, text) => {
      const alice = await newIdentity("alice@example.org");
      await account.peers.remember(alice.addr, alice.fingerprint, alice.keydataBase64);
      const mail = await userMail({
        from: "alice@example.org",
        to: BOT,
        recipientKey: account.identity.publicKey,
        signer: alice,
        body: { kind: "text", text: typed },
      });
      const inbound = await receiveMail(account, mail.raw, { maxBytes: 1024 * 1024 });
      if (inbound.kind !== "event" || inbound.event.kind !== "message") throw new Error(`the relay did not run the bot: ${JSON.stringify(inbound)}`);
      const relay = inbound.event.message;
      expect(relay.text).toBe(text);
      const local = JSON.parse((await kit.message(typed)).texts[0]!) as { text: string; command?: unknown };
      expect({ text: local.text, command: local.command }).toEqual({ text: relay.text, command: relay.command });
    },
    60_000,
  );
});
