// Regenerates test/fixtures/real-core-mail/ (real-core-fixtures.ts) from a real Delta Chat core
// (real-core-record.ts). Needs root and the test relay; takes about half a minute.
// Run with: npx vite-node test/bench/record-real-core-mail.ts [TEXTS]   (default 5 text messages)
import { relayAvailable } from "../support/relay.js";
import { REAL_CORE_MAIL_DIR, writeRecording } from "./real-core-fixtures.js";
import { recordRealCoreMail } from "./real-core-record.js";
import { runBench } from "./run-bench.js";

async function main(): Promise<void> {
  if (!relayAvailable()) throw new Error("no test relay here (root with Postfix and Dovecot: bash test/relay/install.sh)");
  const recording = await recordRealCoreMail(Number(process.argv[2] ?? 5));
  await writeRecording(recording);
  const line = (m: Recording["mails"][number]) => `${m.label} (${m.outcome}, ${m.raw.length} B)`;
  process.stdout.write(`core ${recording.core}: ${recording.mails.length} mails to ${REAL_CORE_MAIL_DIR}\n  ${recording.mails.map(line).join("\n  ")}\n`);
}

type Recording = Awaited<ReturnType<typeof recordRealCoreMail>>;

runBench(main);
