// `chatbot host init` for a host on a test relay, as the demo, the crash test and the service
// bench set it up: replies submitted on the relay's submission port, IMAP with STARTTLS (state
// copies, deploys), and an LMTP socket that Postfix (group postfix) delivers to.
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
