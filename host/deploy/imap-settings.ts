// Where an IMAP server is and how to talk to it; kept apart from imap-mailbox.ts so that reading
// host.json (which `host deliver` does not, but other light commands do) never loads the IMAP client.

/** How the connection is protected: none (loopback only), STARTTLS (required), or implicit TLS. */
export type ImapSecurity = "plain" | "starttls" | "tls";
export const IMAP_SECURITIES: readonly ImapSecurity[] = ["plain", "starttls", "tls"];

/** Where the IMAP server is. */
export interface ImapSettings {
  host: string;
  port: number;
  security: ImapSecurity;
  /** Accept a self-signed certificate (the host's relay on the same machine). */
  allowSelfSigned: boolean;
}
