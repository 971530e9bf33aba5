// The committed recording of real-core mail (test/fixtures/real-core-mail/, made by
// record-real-core-mail.ts): index.json names each mail and its label, account/ holds the bot
// account's files, mails/ the raw mails byte for byte. Fixtures rather than a recording per bench
// run: a run would need root, the relay and ~20 s for a core to join, and the bytes would differ
// every time; the committed ones give every `make bench` on any machine the same real mail.
import { mkdirSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MailLabel, Recording } from "./real-core-record.js";

export const REAL_CORE_MAIL_DIR = fileURLToPath(new URL("../fixtures/real-core-mail/", import.meta.url));

interface Index {
  core: string;
  botAddr: string;
  botName: string;
  userAddr: string;
  recordedAt: string;
  accountFiles: string[];
  mails: { file: string; label: MailLabel; outcome: string }[];
}

/** Replace the recording in `dir` with `recording`. */
export async function writeRecording(recording: Recording, dir: string = REAL_CORE_MAIL_DIR): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "account"), { recursive: true });
  mkdirSync(join(dir, "mails"), { recursive: true });
  const mails = recording.mails.map((mail, i) => ({ file: `${String(i + 1).padStart(2, "0")}-${mail.label}.eml`, label: mail.label, outcome: mail.outcome }));
  for (const [i, mail] of recording.mails.entries()) await writeFile(join(dir, "mails", mails[i]!.file), mail.raw);
  for (const [name, text] of Object.entries(recording.accountFiles)) await writeFile(join(dir, "account", name), text);
  const { core, botAddr, botName, userAddr } = recording;
  const index: Index = { core, botAddr, botName, userAddr, recordedAt: new Date().toISOString(), accountFiles: Object.keys(recording.accountFiles), mails };
  await writeFile(join(dir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
}

/** The recording in `dir`. */
export async function readRecording(dir: string = REAL_CORE_MAIL_DIR): Promise<Recording> {
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as Index;
  const accountFiles: Record<string, string> = {};
  for (const name of index.accountFiles) accountFiles[name] = await readFile(join(dir, "account", name), "utf8");
  const mails = await Promise.all(
    index.mails.map(async (m) => ({ label: m.label, outcome: m.outcome, raw: new Uint8Array(await readFile(join(dir, "mails", m.file))) })),
  );
  return { core: index.core, botAddr: index.botAddr, botName: index.botName, userAddr: index.userAddr, accountFiles, mails };
}
