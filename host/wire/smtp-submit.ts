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

/**
 * How a failed submit rejects: nodemailer's own error, passed on unchanged so that the spool's
 * failure table (host/service/failure-class.ts) reads its codes — `responseCode`, the server's reply
 * (450 rate limit, 523 Encryption Needed, 535 login refused, …), and `code`, nodemailer's name for
 * what failed (EAUTH, EENVELOPE, EMESSAGE, ECONNECTION, ETIMEDOUT, ESOCKET, …). `response` is the
 * reply line, `command` the SMTP command it answered.
 */
export interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Submits mails over one pooled connection; `close()` ends it. */
export interface SmtpSubmitter {
  submit(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** A submitter for `config`. A rejected mail rejects with an SmtpFailure (the server's reply in its message and codes). */
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
