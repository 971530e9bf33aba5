// A minimal LMTP client (RFC 2033) over a unix socket, for tests: it speaks LHLO/MAIL/RCPT/DATA and
// returns every reply line, so a test can see LMTP's one reply per accepted recipient after DATA.
import { connect, type Socket } from "node:net";

/** Replies of one transaction, as the server sent them (final lines, e.g. "250 2.1.5 Accepted"). */
export interface LmtpTranscript {
  greeting: string;
  /** The LHLO reply, all lines (capabilities such as "250-SIZE 31457280"). */
  lhlo: string[];
  mail: string;
  /** One reply per RCPT, in order. */
  rcpt: string[];
  /** After DATA: one reply per accepted recipient (empty when none was accepted or MAIL failed). */
  data: string[];
}

/** Reads complete replies (a multi-line reply ends with "NNN " rather than "NNN-"). */
export class ReplyReader {
  private buffer = "";
  private lines: string[] = [];
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      this.buffer += text;
      let end: number;
      while ((end = this.buffer.indexOf("\r\n")) >= 0) {
        this.lines.push(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 2);
      }
      this.waiting?.();
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.waiting?.();
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("LMTP connection closed")));
  }

  async next(): Promise<string[]> {
    const reply: string[] = [];
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        reply.push(line);
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) return reply;
        continue;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
  }
}

/** One LMTP transaction on `socketPath`: MAIL FROM `from`, RCPT each of `to`, the data (CRLF, dot-stuffed here). */
export async function lmtpSend(socketPath: string, message: { from: string; to: string[]; data: string | Buffer; size?: number }): Promise<LmtpTranscript> {
  const socket = connect(socketPath);
  const reader = new ReplyReader(socket);
  const last = (lines: string[]) => lines[lines.length - 1]!;
  try {
    const greeting = last(await reader.next());
    socket.write("LHLO test.client\r\n");
    const lhlo = await reader.next();
    socket.write(`MAIL FROM:<${message.from}>${message.size !== undefined ? ` SIZE=${message.size}` : ""}\r\n`);
    const mail = last(await reader.next());
    const rcpt: string[] = [];
    if (mail.startsWith("250")) {
      for (const to of message.to) {
        socket.write(`RCPT TO:<${to}>\r\n`);
        rcpt.push(last(await reader.next()));
      }
    }
    const accepted = rcpt.filter((line) => line.startsWith("250")).length;
    const data: string[] = [];
    if (accepted > 0) {
      socket.write("DATA\r\n");
      const go = last(await reader.next());
      if (!go.startsWith("354")) throw new Error(`DATA refused: ${go}`);
      const text = Buffer.isBuffer(message.data) ? message.data.toString("latin1") : message.data;
      const body = text.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
      socket.write(Buffer.from(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`, "latin1"));
      for (let i = 0; i < accepted; i++) data.push(last(await reader.next()));
    }
    socket.write("QUIT\r\n");
    await reader.next().catch(() => []);
    return { greeting, lhlo, mail, rcpt, data };
  } finally {
    socket.destroy();
  }
}
