// Test support: a real chatmail-like relay (Postfix + Dovecot, the Debian packages chatmail relays
// run) on 127.0.0.1, one per call, in its own temp directory with its own free ports. A thin shell
// over the scripts in test/relay/ — they are also how a person runs the relay by hand (README
// "Test relay"). Needs root and `make relay-deps` (test/relay/install.sh).

import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { addDiagnostics } from "./diagnostics.js";
import { lmtpCacheEntry } from "../../host/setup/lmtp-cache.js";
import nodemailer from "nodemailer";

const RELAY_DIR = fileURLToPath(new URL("../relay/", import.meta.url));
/** Where Debian installs the daemons (the scripts call them by name; this only checks presence). */
const DAEMONS = ["/usr/sbin/postfix", "/usr/sbin/dovecot", "/usr/bin/doveadm"];
/** Script run timeout: start.sh waits ≤ 5 s for ports, stop.sh ≤ 5 s for Dovecot's shutdown. */
const SCRIPT_TIMEOUT_MS = 20_000;

/** A running test relay. All ports are on 127.0.0.1; mail for `domain` stays on this relay. */
export interface TestRelay {
  /** The relay's directory: config in server/, mail in mail/, logs in log/, bot mail in captured/. */
  readonly base: string;
  readonly domain: string;
  /** IMAP, plaintext (STARTTLS offered with a self-signed certificate). */
  readonly imapPort: number;
  /** Submission: SASL login required, MAIL FROM must equal the login. */
  readonly submissionPort: number;
  /** MTA-to-MTA SMTP: no auth, accepts mail for `domain` only. */
  readonly smtpPort: number;
  /** Create (or re-password) a mailbox; Dovecot sees it at once. */
  addUser(addr: string, password: string): Promise<void>;
  /**
   * Route `addr` to Postfix pipe(8) instead of Dovecot: `command` (absolute path + args; Postfix
   * appends the recipient) or, by default, test/relay/capture-deliver.sh into capturedMails(addr).
   * Resolves once Postfix has reloaded, so the next mail takes the route. Calls made at once run
   * one after the other.
   */
  routeToHost(addr: string, command?: string[]): Promise<void>;
  /**
   * Route `addr` to an LMTP server on a unix socket (transport `lmtp:unix:<socketPath>`). Postfix's
   * lmtp(8) client runs as `postfix`: the socket and its folders must be reachable by that user.
   */
  routeToLmtp(addr: string, socketPath: string): Promise<void>;
  /**
   * Let a host keep the bot routes: Postfix looks addresses up in the host's `hash:` table `file`
   * (transport-map.ts; it must exist, with its .db) before the relay's own table. One reload now;
   * later changes of the table need none.
   */
  useHostTransportMap(file: string): Promise<void>;
  /** `postconf -e` each "name = value" line into this relay's Postfix, then one `postfix reload`. */
  postconf(settings: string[]): Promise<void>;
  /**
   * What `host setup` gives Postfix for an LMTP door on `socketPath`: its connections kept between
   * mails (lmtp_connection_cache_destinations, host/setup/lmtp-cache.ts), then one reload.
   */
  keepLmtpConnections(socketPath: string): Promise<void>;
  /** `postqueue -f`: attempt every deferred mail now (after fixing what made it fail). */
  flushQueue(): Promise<void>;
  /** `postsuper -d ALL`: delete every queued mail (a deferred one that a test no longer wants retried). */
  dropQueue(): Promise<void>;
  /** Paths of the mails the default pipe command captured for `addr`, oldest first. */
  capturedMails(addr: string): Promise<string[]>;
  /** The Dovecot maildir of `addr` (new/, cur/, tmp/ below it; absent until the first delivery). */
  maildir(addr: string): string;
  /** The relay's log text: Postfix (every delivery with its relay= and status=) or Dovecot. */
  readLog(which: "postfix" | "dovecot"): Promise<string>;
  /** Stop this relay's daemons (only these) and delete `base` unless CHATBOT_KEEP_RELAY=1. */
  stop(): Promise<void>;
}

/**
 * Whether a relay can run here: Postfix and Dovecot installed and running as root. When not, says
 * so loudly: `make test` installs them (relay-deps), so a skip means a hand-run without it.
 */
export function relayAvailable(): boolean {
  const missing = DAEMONS.filter((path) => !isExecutable(path));
  const isRoot = process.getuid?.() === 0;
  const ok = missing.length === 0 && isRoot;
  if (!ok) {
    const why = missing.length > 0 ? `missing ${missing.join(", ")}` : "not running as root";
    process.stderr.write(
      `\n${"!".repeat(78)}\n!! SKIPPING relay end-to-end tests: ${why}.\n` +
        `!! Run \`make relay-deps\` (bash test/relay/install.sh, as root) or \`make test\`.\n${"!".repeat(78)}\n\n`,
    );
  }
  return ok;
}

/** Set up and start a relay in a fresh temp directory on free 127.0.0.1 ports. */
export async function startRelay(options: { domain?: string } = {}): Promise<TestRelay> {
  const domain = options.domain ?? "chat.test";
  const base = await mkdtemp(join(tmpdir(), "chatbot-relay-"));
  const [smtpPort, submissionPort, imapPort] = (await freePorts(3)) as [number, number, number];
  const env = {
    ...process.env,
    BASE: base,
    DOMAIN: domain,
    SMTP_PORT: String(smtpPort),
    SUBM_PORT: String(submissionPort),
    IMAP_PORT: String(imapPort),
  };
  const script = (name: string, args: string[] = []): Promise<string> => runScript(base, env, name, args);
  // route.sh rewrites the transport table and reloads Postfix: one at a time, so callers may start
  // several bots at once.
  let routing: Promise<unknown> = Promise.resolve();
  const route = (args: string[]): Promise<void> => {
    const done = routing.then(() => script("route.sh", args));
    routing = done.catch(() => undefined);
    return done.then(() => undefined);
  };
  let stopped = false;
  // A timed-out wait in a test quotes the deliveries Postfix deferred or bounced (diagnostics.ts).
  const removeDiagnostics = addDiagnostics(() => {
    const log = (() => {
      try {
        return readFileSync(join(base, "log", "postfix.log"), "utf8");
      } catch {
        return "";
      }
    })();
    const trouble = log.split("\n").filter((line) => /status=(deferred|bounced)|warning|fatal|panic/.test(line));
    return trouble.length === 0
      ? `relay ${domain}: Postfix deferred and bounced nothing`
      : `relay ${domain}: Postfix trouble, last ${Math.min(8, trouble.length)}:\n${trouble.slice(-8).join("\n")}`;
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    removeDiagnostics();
    await script("stop.sh");
    if (process.env.CHATBOT_KEEP_RELAY !== "1") await rm(base, { recursive: true, force: true });
  };

  try {
    await script("setup.sh");
    await script("start.sh");
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }

  return {
    base,
    domain,
    imapPort,
    submissionPort,
    smtpPort,
    addUser: async (addr, password) => {
      await script("adduser.sh", [addr, password]);
    },
    routeToHost: (addr, command = []) => route([addr, ...command]),
    routeToLmtp: (addr, socketPath) => route([addr, `lmtp:unix:${socketPath}`]),
    useHostTransportMap: async (file) => {
      const postfix = join(base, "server", "postfix");
      await run("postconf", ["-c", postfix, "-e", `transport_maps = hash:${file}, texthash:${join(postfix, "transport")}`]);
      await run("postfix", ["-c", postfix, "reload"]);
    },
    postconf: async (settings) => {
      const postfix = join(base, "server", "postfix");
      for (const setting of settings) await run("postconf", ["-c", postfix, "-e", setting]);
      await run("postfix", ["-c", postfix, "reload"]);
    },
    keepLmtpConnections: async (socketPath) => {
      const entry = lmtpCacheEntry(`lmtp:unix:${socketPath}`);
      if (entry === undefined) throw new Error(`no lmtp_connection_cache_destinations entry names ${socketPath}`);
      const postfix = join(base, "server", "postfix");
      await run("postconf", ["-c", postfix, "-e", `lmtp_connection_cache_destinations = ${entry}`]);
      await run("postfix", ["-c", postfix, "reload"]);
    },
    flushQueue: async () => {
      await run("postqueue", ["-c", join(base, "server", "postfix"), "-f"]);
    },
    dropQueue: async () => {
      await run("postsuper", ["-c", join(base, "server", "postfix"), "-d", "ALL"]);
    },
    capturedMails: async (addr) => {
      const dir = join(base, "captured", addr);
      const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      });
      // <ns timestamp>-<random>.eml: same-width timestamps, so name order is arrival order.
      return names
        .filter((name) => name.endsWith(".eml"))
        .sort()
        .map((name) => join(dir, name));
    },
    maildir: (addr) => {
      const at = addr.lastIndexOf("@");
      return join(base, "mail", addr.slice(at + 1), addr.slice(0, at), "Maildir");
    },
    readLog: async (which) => readFile(join(base, "log", `${which}.log`), "utf8").catch(() => ""),
    stop,
  };
}

/** `count` distinct free ports on 127.0.0.1 (all held open together, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Run a program (not a script of test/relay/) with the test's timeout; rejects with its stderr. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: SCRIPT_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`test relay: ${command} ${args.join(" ")} failed (${error.message.trim()})\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function runScript(base: string, env: NodeJS.ProcessEnv, name: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [join(RELAY_DIR, name), ...args], { env, timeout: SCRIPT_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`test relay: ${name} ${args.join(" ")} failed (${error.message.trim()}); logs in ${base}/log\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A nodemailer transport that submits as `user` on the relay's submission port: plaintext SASL on
 * loopback (no STARTTLS), as the Delta Chat cores in the tests log in.
 */
export function submissionTransport(relay: Pick<TestRelay, "submissionPort">, user: string, password: string) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: relay.submissionPort,
    secure: false,
    ignoreTLS: true,
    auth: { user, pass: password },
  });
}
