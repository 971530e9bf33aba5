// `chatbot host init` for a host on a test relay, as the demo, the crash test and the service
// bench set it up: replies submitted on the relay's submission port, IMAP with STARTTLS (state
// copies, deploys), and an LMTP socket that Postfix (group postfix) delivers to.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "./cli-io.js";
import type { TestRelay } from "./relay.js";

/** The argv (after `chatbot`) of `host init` for `dataDir` on `relay`, listening on `lmtpSocket`. */
export function relayHostInitArgs(relay: Pick<TestRelay, "submissionPort" | "imapPort">, dataDir: string, lmtpSocket: string): string[] {
  return [
    "host",
    "init",
    "--data-dir",
    dataDir,
    "--smtp-port",
    String(relay.submissionPort),
    "--imap-port",
    String(relay.imapPort),
    "--imap-security",
    "starttls",
    "--lmtp-socket",
    lmtpSocket,
    "--lmtp-group",
    "postfix",
  ];
}

/** A host on `relay` in a fresh folder Postfix can reach (`host init`, then `config` merged into host.json); its folder, data directory and socket. */
export async function initRelayHost(
  relay: Pick<TestRelay, "submissionPort" | "imapPort">,
  prefix: string,
  config: Record<string, unknown> = {},
): Promise<{ work: string; data: string; socket: string }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(work, 0o755); // Postfix must reach the LMTP socket inside
  const data = join(work, "data");
  const socket = join(work, "lmtp.sock");
  const io = captureIo(work);
  if ((await runCli(relayHostInitArgs(relay, data, socket), io)) !== 0) throw new Error(`host init failed: ${io.err}`);
  const configFile = join(data, "host.json");
  writeFileSync(configFile, JSON.stringify({ ...(JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>), ...config }));
  return { work, data, socket };
}
