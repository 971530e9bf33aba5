// Records mail exactly as a real Delta Chat core writes it to a bot (issue 15 part 2): the test
// relay (real Postfix + Dovecot), the echo bot hosted by the e2e harness (its mail piped to the
// relay's capture command, then handled as `host serve` would), and MAIN_CORE as the user. The user
// joins the bot by its QR (SecureJoin v3, as people do), sends text messages, one small file, and
// one message in a group with the bot (a group mail carries Autocrypt-Gossip). Every mail is kept
// byte for byte as Postfix handed it over, with the outcome the host gave it, and the bot account's
// files, so the mails can be opened again later. Needs root and the relay (`make relay-deps`).
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { startBotOnRelay } from "../support/bot-harness.js";
import { startDeltaChat } from "../support/deltachat-client.js";
import { MAIN_CORE, packageVersion } from "../support/dc-cores.js";
import { startRelay } from "../support/relay.js";

/** The bot account's files a recording keeps: its key, the SecureJoin tokens, the peers' keys, its groups (not seen/sent: the mails must run again). */
export const ACCOUNT_FILES = ["key.asc", "securejoin.json", "peers.json", "peers.json.log", "groups.json"] as const;

/** What a mail was, as sent by the core. */
export type MailLabel = "handshake" | "text" | "file" | "group";

/** One recorded mail: its bytes as the bot's transport received them and what the host made of it. */
export interface RecordedMail {
  label: MailLabel;
  /** The host's outcome (handle-mail.ts MailReport.outcome): "ran" for a message the bot answered. */
  outcome: string;
  raw: Uint8Array;
}

/** A recording: the bot, its account's files after the last mail, and its mail in arrival order. */
export interface Recording {
  core: string;
  botAddr: string;
  botName: string;
  userAddr: string;
  accountFiles: Record<string, string>;
  mails: RecordedMail[];
}

/** Size of the file message's attachment, bytes: a small picture's worth, so the mail stays a few KB. */
const FILE_BYTES = 2048;
const WAIT_MS = 30_000;

/** Record `texts` text messages, one file and one group message from a real core to the echo bot. */
export async function recordRealCoreMail(texts: number): Promise<Recording> {
  const [relay, dc] = await Promise.all([startRelay(), startDeltaChat(MAIN_CORE)]);
  const scratch = mkdtempSync(join(tmpdir(), "real-core-mail-"));
  try {
    const botAddr = `echobot@${relay.domain}`;
    const botName = "Echo Bot";
    const userAddr = `alice@${relay.domain}`;
    const echo = await startBotOnRelay(relay, { addr: botAddr, name: botName });
    try {
      const user = await dc.createAccount(relay, "Alice", userAddr, "alice-password");
      const chatId = await dc.joinByQr(user, await echo.invite(), WAIT_MS);
      const labels: MailLabel[] = [];
      const sendAndAwaitEcho = async (label: MailLabel, expected: string, send: () => Promise<unknown>) => {
        // The file's echo names its type as the core declared it: matched up to there.
        const reply = dc.waitForIncomingMessage(user, (m) => (label === "file" ? m.text.startsWith(expected) : m.text === expected), WAIT_MS);
        await send();
        await reply;
        labels.push(label);
      };
      for (let i = 0; i < texts; i++) {
        const text = `hello bot ${i + 1}`;
        await sendAndAwaitEcho("text", `echo: ${text}`, () => dc.rpc.miscSendTextMessage(user, chatId, text));
      }
      const path = join(scratch, "note.bin");
      await writeFile(path, randomBytes(FILE_BYTES));
      await sendAndAwaitEcho("file", "echo: note.bin (", () =>
        dc.rpc.sendMsg(user, chatId, {
          text: "a file",
          html: null,
          viewtype: "File",
          file: path,
          filename: "note.bin",
          location: null,
          overrideSenderName: null,
          quotedMessageId: null,
          quotedText: null,
        }),
      );
      const [botContact] = await dc.rpc.getContactIds(user, 0, botAddr);
      if (botContact === undefined) throw new Error(`${botAddr} is no contact of the user`);
      const group = await dc.rpc.createGroupChat(user, "Echo Club", false);
      await dc.rpc.addContactToChat(user, group, botContact);
      await sendAndAwaitEcho("group", "echo: hi club", () => dc.rpc.miscSendTextMessage(user, group, "hi club"));

      // The harness handles captured mails in name order, one report each: report i is mail i.
      const files = await relay.capturedMails(botAddr);
      if (files.length !== echo.reports.length) throw new Error(`${files.length} mails captured, ${echo.reports.length} handled`);
      const ran = echo.reports.filter((r) => r.outcome === "ran").length;
      if (ran !== labels.length) throw new Error(`the bot ran on ${ran} mails, ${labels.length} messages were sent`);
      let next = 0;
      const mails: RecordedMail[] = [];
      for (const [i, file] of files.entries()) {
        const outcome = echo.reports[i]!.outcome;
        mails.push({ label: outcome === "ran" ? labels[next++]! : "handshake", outcome, raw: new Uint8Array(await readFile(file)) });
      }
      const accountDir = join(echo.dataDir, "bots", botAddr);
      const present = new Set(await readdir(accountDir));
      const accountFiles: Record<string, string> = {};
      for (const name of ACCOUNT_FILES) if (present.has(name)) accountFiles[name] = await readFile(join(accountDir, name), "utf8");
      return { core: packageVersion(MAIN_CORE), botAddr, botName, userAddr, accountFiles, mails };
    } finally {
      await echo.stop();
      rmSync(dirname(echo.dataDir), { recursive: true, force: true });
    }
  } finally {
    await dc.close();
    await relay.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
