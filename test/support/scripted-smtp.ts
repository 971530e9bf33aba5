// A real SMTP submission server on 127.0.0.1 (smtp-server, STARTTLS with the test certificate,
// SASL login) that answers what the test tells it to: accept, or refuse the login, MAIL FROM or
// DATA with a given reply — the replies a chatmail relay gives (filtermail's "523 Encryption
// Needed", its "450 4.7.1" send-rate limit, Postfix's "535 5.7.8" for a wrong password).
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { TEST_TLS } from "./test-servers.js";

/** One reply: its code and its text (smtp-server writes "<code> <text>"). */
export interface SmtpReply {
  code: number;
  text: string;
}

/** What the server says; a step without a reply is accepted. Change it between submits. */
export interface SmtpScript {
  auth?: SmtpReply;
  mailFrom?: SmtpReply;
  data?: SmtpReply;
}

/** A running scripted server and what it saw. */
export interface ScriptedSmtp {
  readonly port: number;
  script: SmtpScript;
  /** Raw messages the server accepted (after DATA). */
  readonly accepted: string[];
  /** Logins, MAIL FROMs and DATAs tried, in order: "AUTH user", "MAIL from", "DATA". */
  readonly commands: string[];
  close(): Promise<void>;
}

const refusal = (reply: SmtpReply) => Object.assign(new Error(reply.text), { responseCode: reply.code });

/** Start a scripted SMTP server on a free port of 127.0.0.1 (`script` may be changed later). */
export async function startScriptedSmtp(script: SmtpScript = {}): Promise<ScriptedSmtp> {
  const state: { script: SmtpScript; accepted: string[]; commands: string[] } = { script, accepted: [], commands: [] };
  const server = new SMTPServer({
    key: TEST_TLS.key,
    cert: TEST_TLS.cert,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      state.commands.push(`AUTH ${auth.username}`);
      const reply = state.script.auth;
      if (reply) return callback(refusal(reply));
      callback(null, { user: auth.username });
    },
    onMailFrom(address, _session, callback) {
      state.commands.push(`MAIL ${address.address}`);
      const reply = state.script.mailFrom;
      callback(reply ? refusal(reply) : undefined);
    },
    onData(stream, _session, callback) {
      state.commands.push("DATA");
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const reply = state.script.data;
        if (reply) return callback(refusal(reply));
        state.accepted.push(Buffer.concat(chunks).toString("utf8"));
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    get script() {
      return state.script;
    },
    set script(next: SmtpScript) {
      state.script = next;
    },
    get accepted() {
      return state.accepted;
    },
    get commands() {
      return state.commands;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
