// Hands composed mails to the relay over SMTP submission as the bot's account (SASL), the only
// way out: the relay checks MAIL FROM == login and runs its outgoing filter.
import { createTransport } from "nodemailer";
import type { OutgoingMail } from "./bot-message.js";

/** Where and as whom to submit. */
export interface SmtpConfig {
  host: string;
  port: number;
  /** Implicit TLS (port 465); otherwise STARTTLS when offered. */
  secure: boolean;
  user: string;
  password: string;
  /** Accept a self-signed certificate (a relay on the same host). */
  allowSelfSigned: boolean;
}

/** Submits mails over one pooled connection; `close()` ends it. */
export interface SmtpSubmitter {
  submit(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** A submitter for `config`. A rejected mail rejects with the server's reply in the message. */
export function createSmtpSubmitter(config: SmtpConfig): SmtpSubmitter {
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    auth: { user: config.user, pass: config.password },
    tls: { rejectUnauthorized: !config.allowSelfSigned },
    pool: true,
    maxConnections: 1,
  });
  return {
    async submit(mail) {
      await transport.sendMail({ envelope: { from: mail.from, to: mail.recipients }, raw: mail.raw });
    },
    close: () => transport.close(),
  };
}
