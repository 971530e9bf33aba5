// Phase 5: the host service under a burst, through the real mail path. A user's 1 000 encrypted
// mails go in over SMTP to a real Postfix (the test relay), Postfix hands them to `chatbot host
// serve` over LMTP, the echo bot runs in the sandbox, and its encrypted replies go out over SMTP
// submission back through Postfix into the user's Dovecot mailbox. Everything is measured on this
// machine in this run; nothing here judges a number, but a reply missing, doubled or wrong fails.
//
// Clocks and where each time comes from (all the same system clock):
//   spooled   — the service's own "lmtp.spooled" log line (entry id, ms);
//   completed — the entry's mail file leaving <data>/spool/new (inotify, seen by this process):
//               the service completes an entry right after SMTP accepted its reply and the
//               journal recorded it, so this is "reply accepted by SMTP" plus one unlink;
//   mailbox   — Dovecot's delivery time of the reply, from its maildir file name (µs);
//   accepted  — Postfix's 250 for the injected mail, seen by the injecting client.
import { burstSettings } from "./part-bench-service.js";
import { spawn, type ChildProcess } from "node:child_process";
import {
  accessSync,
  appendFileSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createTransport } from "nodemailer";
import type * as openpgp from "openpgp";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import { hostPaths } from "../../host/service/paths.js";
import { openBotAccount } from "../../host/wire/bot-account.js";
import { parseInner } from "../../host/wire/mime/parse-inner.js";
import { parseOuter } from "../../host/wire/mime/parse-outer.js";
import { fingerprintOf } from "../../host/wire/pgp/autocrypt.js";
import { decryptAndVerify } from "../../host/wire/pgp/decrypt.js";
import type { BotIdentity } from "../../host/wire/pgp/identity.js";
import { captureIo, cliOrThrow } from "../support/cli-io.js";
import { startRelay, type TestRelay } from "../support/relay.js";
import { relayHostInitArgs } from "../support/relay-host-init.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { machineBusyMs, ownCpuMs, pidFromFile, processTree, treeCpuMs } from "./proc.js";
import { processRss, summarize, type Summary } from "./stats.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));
/** Parallel SMTP connections the injector uses (a busy peer relay opens a few). */
const INJECT_CONNECTIONS = 4;
/** The pause between single messages after the previous reply went out: the host is idle when the next arrives, ms. */
const SINGLES_GAP_MS = 100;
/**
 * Mails each round sends first, one at a time, before its measurement starts: a fresh `host serve`
 * starts its pipeline process and its runner and warms its code (V8 compiles what runs hot) on them.
 * Their CPU is reported apart as the round's start-up (ServiceRound.startUp), not spread over the
 * round's per-mail figures: a round of 60 single mails had ~1.2 s of it, 20 ms per mail.
 */
const WARM_UP_MAILS = 5;
/** A round that has not answered everything after this long is broken, not slow. */
const ROUND_DEADLINE_MS = 150_000;
const LIMITS = { maxBytes: MAIL_MAX_BYTES };

/** CPU used during one round (injection start → last reply in the mailbox), ms per mail. */

/** The command name of `pid` (/proc/<pid>/comm), "" when it is gone. */
function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export interface CpuPerMail {
  /** `host serve`'s own process, the door: LMTP, the spool's writes, the log and metrics. */
  serve: number;
  /** The pipeline process (`host serve --pipeline`): decrypt/verify, planning, encrypt/sign, SMTP client, stores. */
  pipeline: number;
  /** Its sandbox runner processes (IPC, worker, QuickJS isolate). */
  runners: number;
  /** Every Postfix process of the relay (smtpd ×2 ways, cleanup, qmgr, lmtp client, local delivery). */
  postfix: number;
  /** Every Dovecot process of the relay (LMTP delivery into the maildir, auth for submission). */
  dovecot: number;
  /** This bench process (SMTP injection client, log parsing, inotify). */
  injector: number;
  /** The whole machine, all cores (includes everything above and anything else running). */
  machine: number;
}

/** One burst at one executor concurrency. */
export interface ServiceRound {
  /** "burst": every mail injected at once; "singles": one at a time, the next after the reply went out and a pause (issue 15 part 3's latency on an idle host). */
  mode: "burst" | "singles";
  /** How many bots the round's mails went to, and from how many senders (issue 15 part 3: 10 bots × 100 senders). */
  bots: number;
  senders: number;
  concurrency: number;
  mails: number;
  /** Injection: first SMTP connection → Postfix accepted the last mail. */
  injectSeconds: number;
  /** First "lmtp.spooled" → last entry completed (its reply accepted by SMTP). */
  endToEndSeconds: number;
  /** mails / endToEndSeconds: the headline. */
  eventsPerSecond: number;
  /** Injection start → the last reply in the user's mailbox. */
  mailboxSeconds: number;
  /** spooled → completed per entry, paired by spool entry id (singles: without the first). */
  hostLatencyMs: Summary;
  /** The first mail's spooled → completed, right after serve started (a warm-up mail), ms. */
  firstSingleMs?: number;
  /**
   * The warm-up (WARM_UP_MAILS, one at a time, right after serve started): their CPU in all, ms, and
   * what it was above that many mails at this round's steady per-mail CPU (serve + pipeline + runners).
   */
  startUp: { mails: number; serveCpuMs: number; aboveSteadyMs: number; doorReadyCpuMs: number; pipelineReadyCpuMs: number };
  /** Spread rounds: "first contact" (no sender had written to its bot before) or "known pairs" (each had). */
  pairs?: "first contact" | "known pairs";
  /** Postfix accepted the user's mail → its reply in the user's mailbox, paired by the reply's text. */
  userLatencyMs: Summary;
  /** Gap between consecutive completions while the spool had a backlog: the service time per event. */
  completionGapMs: Summary;
  /** The sandbox's own figures from the "bot.event" log lines. */
  guestCpuMs: Summary;
  sandboxWallMs: Summary;
  cpuPerMail: CpuPerMail;
  /** At the end of the round. */
  rss: { serveBytes: number; servePeakBytes: number; runnerBytes: number[]; runnerPeakBytes: number[] };
  /** Completions the watcher missed (then timed at the end; excluded from the latency). */
  unwatched: number;
  /** The whole round: compose, burst, wait, decrypt and check every reply, stop serve. */
  roundSeconds: number;
}

export type ServiceResult =
  | { skipped: string }
  | { rounds: ServiceRound[]; injectConnections: number; setupSeconds: number; composeMsPerMail: number; notes: string[]; phaseSeconds: number };

/** Why the phase cannot run here, or undefined when it can. */
export function serviceBenchUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root (the test relay needs root)";
  for (const path of ["/usr/sbin/postfix", "/usr/sbin/dovecot", "/usr/bin/doveadm"]) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      return `${path} is missing (run \`make relay-deps\`)`;
    }
  }
  return undefined;
}

interface ServeProcess {
  child: ChildProcess;
  pid: number;
  spooledAt: Map<string, number>;
  botEvents: Array<{ cpuMs: number; wallMs: number; sent: number; status: string }>;
  /** Counts of the log events that mean something went other than planned. */
  trouble: Map<string, number>;
  stderr: () => string;
  stop(): Promise<void>;
}

const TROUBLE = new Set([
  "spool.retry",
  "spool.dead",
  "mail.dropped",
  "mail.held",
  "bot.deferred",
  "bot.refused",
  "service.error",
  "lmtp.error",
  "lmtp.spool-failed",
  "lmtp.rcpt-refused",
]);

/** Start `chatbot host serve` as its own process and resolve once it says it started. */
async function startServe(dataDir: string): Promise<ServeProcess> {
  // The environment a unit file would give it: no loaders or NODE_OPTIONS of the bench's own process.
  // BENCH_SERVE_PROFILE=DIR: a V8 CPU profile of each serve process into DIR (where its time goes).
  const profile = process.env.BENCH_SERVE_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SERVE_PROFILE}`] : [];
  // BENCH_SERVE_NODE_ARGS="--flag …": node options for serve (and so its pipeline process), for trying V8 flags.
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...profile, CLI, "host", "serve", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production" },
  });
  const spooledAt = new Map<string, number>();
  const botEvents: ServeProcess["botEvents"] = [];
  const trouble = new Map<string, number>();
  let stderr = "";
  let buffer = "";
  let started: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  // BENCH_SERVE_LOG=FILE: serve's log lines also into FILE (where an entry's time goes, by timestamps).
  const logCopy = process.env.BENCH_SERVE_LOG;
  child.stdout!.on("data", (chunk: Buffer) => {
    if (logCopy) appendFileSync(logCopy, chunk);
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      const entry = JSON.parse(line) as { at: string; event: string; entry?: string; cpuMs?: number; wallMs?: number; sent?: number; status?: string };
      if (entry.event === "lmtp.spooled") spooledAt.set(entry.entry!, Date.parse(entry.at));
      else if (entry.event === "bot.event")
        botEvents.push({ cpuMs: entry.cpuMs ?? NaN, wallMs: entry.wallMs ?? NaN, sent: entry.sent ?? 0, status: entry.status ?? "?" });
      else if (entry.event === "service.started") started();
      else if (TROUBLE.has(entry.event)) trouble.set(entry.event, (trouble.get(entry.event) ?? 0) + 1);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await Promise.race([
    startedPromise,
    exited.then(() => Promise.reject(new Error(`host serve exited before it started: ${stderr.slice(-1000)}`))),
    new Promise((_, reject) => setTimeout(() => reject(new Error("host serve did not start within 30 s")), 30_000).unref()),
  ]);
  return {
    child,
    pid: child.pid!,
    spooledAt,
    botEvents,
    trouble,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The reply files in a maildir's new/ with Dovecot's delivery time from their names (`<s>.M<µs>P<pid>.…`), ms. */
function maildirFiles(maildir: string): Map<string, number> {
  const files = new Map<string, number>();
  const dir = join(maildir, "new");
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const match = /^(\d+)\.M(\d+)P/.exec(name);
    files.set(name, match ? Number(match[1]) * 1000 + Number(match[2]) / 1000 : NaN);
  }
  return files;
}

async function until(check: () => boolean, deadline: number, what: () => string): Promise<void> {
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`service burst: timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Everything that must stay the same between the rounds: bots[0] and users[0] are the one-user rounds' pair. */
interface Setup {
  relay: TestRelay;
  work: string;
  dataDir: string;
  bots: Array<{ addr: string; key: openpgp.PublicKey }>;
  users: Array<{ addr: string; identity: BotIdentity }>;
  socket: string;
}

/** One mail of a round: its text ("bench N"), its bytes, and which of setup's bots and users it goes between. */
interface BenchMail {
  text: string;
  raw: Uint8Array;
  bot: number;
  user: number;
}

async function setUp(relay: TestRelay, botCount: number, userCount: number): Promise<Setup> {
  const work = mkdtempSync(join(tmpdir(), "bench-service-"));
  chmodSync(work, 0o755); // Postfix's lmtp client (user postfix) must reach the socket inside
  const dataDir = join(work, "data");
  const socket = join(work, "lmtp.sock");
  const io = captureIo(work);
  const cli = cliOrThrow(io);
  await cli(relayHostInitArgs(relay, dataDir, socket));
  await cli(["new", "echo", "--name", "echo"]);
  await cli(["build", "echo"]);
  writeFileSync(join(work, "pw"), "echo-bot-password");
  const bots: Setup["bots"] = [];
  for (let b = 1; b <= botCount; b++) {
    const addr = `echobot${String(b).padStart(2, "0")}@${relay.domain}`;
    await relay.addUser(addr, "echo-bot-password");
    await cli(["host", "install", addr, "echo", "--password-file", "pw", "--name", "Echo", "--data-dir", dataDir]);
    bots.push({ addr, key: (await openBotAccount(dataDir, addr, "Echo")).identity.publicKey });
  }
  const users: Setup["users"] = [];
  for (let u = 0; u < userCount; u++) {
    const addr = u === 0 ? `alice@${relay.domain}` : `sender${String(u).padStart(3, "0")}@${relay.domain}`;
    await relay.addUser(addr, "sender-password");
    users.push({ addr, identity: await newIdentity(addr) });
  }
  return { relay, work, dataDir, bots, users, socket };
}

/**
 * host.json for a burst from one user: the operator raises the per-user ceilings (seed: 60 mails an
 * hour) and the bot's CPU budget, and lifts the outbound pacing (50/min, for a real relay's send-rate
 * filter, which the test relay does not have).
 */
function configure(dataDir: string, concurrency: number): void {
  const file = join(dataDir, "host.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, concurrency, ...burstSettings() }));
}

/**
 * Compose the round's mails ("bench <first>" … ), each signed by its user and encrypted to its bot:
 * from `users` senders to `bots` bots, mail k from user k mod users to bot ⌊k / users⌋ mod bots, so
 * every bot hears from every sender (1, 1: the one-user rounds' pair).
 */
async function compose(setup: Setup, first: number, count: number, spread = { bots: 1, users: 1 }): Promise<BenchMail[]> {
  const mails: BenchMail[] = [];
  for (let k = 0; k < count; k++) {
    const text = `bench ${first + k}`;
    const user = k % spread.users;
    const bot = Math.floor(k / spread.users) % spread.bots;
    const from = setup.users[user]!;
    const to = setup.bots[bot]!;
    const { raw } = await userMail({ from: from.addr, to: to.addr, recipientKey: to.key, signer: from.identity, body: { kind: "text", text } });
    mails.push({ text, raw, bot, user });
  }
  return mails;
}

/** The door's pipeline child (`host serve --pipeline …`), undefined while it rests. */
function pipelinePid(servePid: number): number | undefined {
  return processTree(servePid).find((pid) => {
    if (pid === servePid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("--pipeline");
    } catch {
      return false;
    }
  });
}

function cpuSnapshot(servePid: number, postfixPid: number, dovecotPid: number) {
  const pipeline = pipelinePid(servePid);
  return {
    serveTree: treeCpuMs(servePid),
    serveOwn: ownCpuMs(servePid),
    pipelinePid: pipeline,
    pipelineOwn: pipeline === undefined ? 0 : ownCpuMs(pipeline),
    postfix: treeCpuMs(postfixPid),
    dovecot: treeCpuMs(dovecotPid),
    injector: process.cpuUsage(),
    machine: machineBusyMs(),
  };
}

/**
 * One round: start serve at `concurrency`; send the first WARM_UP_MAILS of `mails` one at a time
 * (the start-up, measured apart), then the rest as `mode` says; wait for every reply, check them
 * all, stop serve. The figures are of the rest.
 */
async function burst(setup: Setup, mails: BenchMail[], concurrency: number, routed: boolean, mode: ServiceRound["mode"] = "burst"): Promise<ServiceRound> {
  const { relay, dataDir } = setup;
  configure(dataDir, concurrency);
  const spoolNew = join(hostPaths(dataDir).spool, "new");
  mkdirSync(spoolNew, { recursive: true, mode: 0o700 });
  const serve = await startServe(dataDir);
  let watcher: FSWatcher | undefined;
  try {
    if (!routed) for (const bot of setup.bots) await relay.routeToLmtp(bot.addr, setup.socket);
    const postfixPid = pidFromFile(join(relay.base, "spool", "pid", "master.pid"));
    const dovecotPid = pidFromFile(join(relay.base, "run", "dovecot", "master.pid"));
    if (postfixPid === undefined || dovecotPid === undefined) throw new Error("service burst: cannot find the relay's Postfix/Dovecot master processes");
    // The replies land in each sender's mailbox: only the users this round's mails came from.
    const maildirs = [...new Set(mails.map((mail) => mail.user))].map((user) => ({ user, dir: relay.maildir(setup.users[user]!.addr) }));
    const before = new Map(maildirs.map(({ dir }) => [dir, new Set(maildirFiles(dir).keys())]));
    const newFiles = () =>
      maildirs.flatMap(({ user, dir }) =>
        [...maildirFiles(dir)].filter(([name]) => !before.get(dir)!.has(name)).map(([name, at]) => ({ user, dir, name, at })),
      );

    // An entry is complete when its mail file is gone from new/ (meta files and arrivals are ignored).
    const completedAt = new Map<string, number>();
    watcher = watch(spoolNew, (_type, name) => {
      if (!name || name.endsWith(".json") || completedAt.has(name)) return;
      const now = Date.now();
      if (!existsSync(join(spoolNew, name))) completedAt.set(name, now);
    });
    const n = mails.length;
    const byText = new Map(mails.map((m, i) => [m.text, i]));
    const acceptedAt = new Array<number>(n).fill(NaN);
    const transport = createTransport({
      host: "127.0.0.1",
      port: relay.smtpPort,
      secure: false,
      pool: true,
      maxConnections: INJECT_CONNECTIONS,
      maxMessages: Infinity,
      tls: { rejectUnauthorized: false },
    });

    /** At least `count` entries were spooled, and every spooled one has left the spool (its reply accepted by SMTP). */
    const spooledAndCompleted = (count: number) =>
      serve.spooledAt.size >= count && [...serve.spooledAt.keys()].every((id) => completedAt.has(id) || !existsSync(join(spoolNew, id)));
    const send = async (mail: BenchMail, i: number) => {
      await transport.sendMail({ envelope: { from: setup.users[mail.user]!.addr, to: [setup.bots[mail.bot]!.addr] }, raw: Buffer.from(mail.raw) });
      acceptedAt[i] = Date.now();
    };
    const singlesDeadline = performance.now() + ROUND_DEADLINE_MS;
    // One at a time: the next mail goes in once the previous entry left the spool (its reply
    // accepted by SMTP) and a pause has passed, so each is handled by an idle host.
    const oneByOne = async (first: number, end: number) => {
      for (let i = first; i < end; i++) {
        await send(mails[i]!, i);
        await until(
          () => spooledAndCompleted(i + 1),
          singlesDeadline,
          () => `single mail ${i + 1} of ${mails.length} to be answered (spooled ${serve.spooledAt.size}, completed ${completedAt.size})`,
        );
        await new Promise((resolve) => setTimeout(resolve, SINGLES_GAP_MS));
      }
    };
    const warmUp = Math.min(WARM_UP_MAILS, n - 1);
    const cpuCold = cpuSnapshot(serve.pid, postfixPid, dovecotPid);
    await oneByOne(0, warmUp);
    const warmIds = new Set(serve.spooledAt.keys());
    const warmEvents = serve.botEvents.length;
    const firstWarmId = [...serve.spooledAt].sort((a, b) => a[1] - b[1])[0]?.[0];
    const cpu0 = cpuSnapshot(serve.pid, postfixPid, dovecotPid);
    const injectStart = Date.now();
    if (mode === "burst") await Promise.all(mails.slice(warmUp).map((mail, i) => send(mail, warmUp + i)));
    else await oneByOne(warmUp, n);
    const injectEnd = Date.now();
    transport.close();

    const deadline = performance.now() + ROUND_DEADLINE_MS;
    const newReplies = () => newFiles().length;
    const done = () => spooledAndCompleted(n) && newReplies() >= n;
    await until(
      done,
      deadline,
      () =>
        `${n} replies: spooled ${serve.spooledAt.size}, completed ${completedAt.size}, in the mailbox ${newReplies()}; log trouble ${JSON.stringify([...serve.trouble])}; stderr ${serve.stderr().slice(-500)}`,
    );
    const cpu1 = cpuSnapshot(serve.pid, postfixPid, dovecotPid);
    const rssNow = processRss(serve.pid);
    // The runners' node processes; behind the walls each also has small setpriv/unshare parents.
    const runners = processTree(serve.pid)
      .filter((pid) => pid !== serve.pid && pid !== cpu1.pipelinePid && commandOf(pid) === "node")
      .map((pid) => processRss(pid));
    watcher.close();
    watcher = undefined;

    // Entries the watcher did not see leave (a lost inotify event) are timed "now": excluded from the latency.
    const unwatchedIds = new Set([...serve.spooledAt.keys()].filter((id) => !completedAt.has(id)));
    for (const id of unwatchedIds) completedAt.set(id, Date.now());
    // The warm-up's mails met a serve that had just started (its runner starting, its code cold):
    // the first is reported on its own, none is in the round's figures.
    const firstSingleMs =
      firstWarmId !== undefined && completedAt.has(firstWarmId) ? completedAt.get(firstWarmId)! - serve.spooledAt.get(firstWarmId)! : undefined;
    const measured = [...serve.spooledAt].filter(([id]) => !warmIds.has(id));
    const hostLatency = measured.filter(([id]) => !unwatchedIds.has(id)).map(([id, at]) => completedAt.get(id)! - at);
    const completions = measured.map(([id]) => completedAt.get(id)!).sort((a, b) => a - b);
    const firstSpooled = Math.min(...measured.map(([, at]) => at));
    const lastCompleted = completions[completions.length - 1]!;

    // Every reply: decrypt as the user, check it is "echo: bench N" for a mail of this round, once.
    const replies = newFiles();
    const mailboxAt = new Array<number>(n).fill(NaN);
    const problems: string[] = [];
    const botKeys = setup.bots.map((bot) => bot.key);
    for (const { user, dir, name, at } of replies) {
      const raw = new Uint8Array(readFileSync(join(dir, "new", name)));
      const outer = parseOuter(raw, LIMITS);
      if (!outer.encrypted) {
        problems.push(`${name}: not encrypted`);
        continue;
      }
      const decrypted = await decryptAndVerify(outer.encrypted.armored, setup.users[user]!.identity, botKeys, LIMITS);
      const text = (await parseInner(decrypted.inner, LIMITS)).text.trim();
      const index = text.startsWith("echo: ") ? byText.get(text.slice("echo: ".length)) : undefined;
      if (index === undefined) problems.push(`${name}: unexpected text ${JSON.stringify(text.slice(0, 60))}`);
      else if (mails[index]!.user !== user) problems.push(`${name}: the reply to ${JSON.stringify(mails[index]!.text)} went to another sender`);
      else if (decrypted.signerFingerprint !== fingerprintOf(setup.bots[mails[index]!.bot]!.key))
        problems.push(`${name}: not signed by the bot it was sent to`);
      else if (!Number.isNaN(mailboxAt[index]!)) problems.push(`${name}: a second reply to ${JSON.stringify(mails[index]!.text)}`);
      else mailboxAt[index] = at;
    }
    const missing = mailboxAt.filter((at) => Number.isNaN(at)).length;
    if (problems.length || missing)
      throw new Error(`service burst: ${missing} of ${n} mails not answered; ${problems.length} bad replies: ${problems.slice(0, 5).join("; ")}`);
    if (serve.trouble.size) throw new Error(`service burst: the host logged ${JSON.stringify([...serve.trouble])}`);

    const counted = n - warmUp;
    const perMail = (a: number, b: number) => (b - a) / counted;
    const injectorMs = (u: NodeJS.CpuUsage, v: NodeJS.CpuUsage) => (v.user - u.user + v.system - u.system) / 1000;
    const serveOwn = perMail(cpu0.serveOwn, cpu1.serveOwn);
    const serveTree = perMail(cpu0.serveTree, cpu1.serveTree);
    // The same pipeline process at both readings (it rests only after pipelineRestSeconds idle);
    // otherwise its share stays in "runners" (the tree's reaped children).
    const pipelineOwn = cpu0.pipelinePid !== undefined && cpu0.pipelinePid === cpu1.pipelinePid ? perMail(cpu0.pipelineOwn, cpu1.pipelineOwn) : 0;
    const startUpCpuMs = cpu0.serveTree - cpuCold.serveTree;
    const lastMailbox = Math.max(...mailboxAt.slice(warmUp));
    return {
      mode,
      bots: new Set(mails.map((mail) => mail.bot)).size,
      senders: new Set(mails.map((mail) => mail.user)).size,
      concurrency,
      mails: counted,
      injectSeconds: (injectEnd - injectStart) / 1000,
      endToEndSeconds: (lastCompleted - firstSpooled) / 1000,
      eventsPerSecond: counted / ((lastCompleted - firstSpooled) / 1000),
      mailboxSeconds: (lastMailbox - injectStart) / 1000,
      hostLatencyMs: summarize(hostLatency),
      ...(firstSingleMs === undefined ? {} : { firstSingleMs }),
      userLatencyMs: summarize(mailboxAt.slice(warmUp).map((at, i) => at - acceptedAt[warmUp + i]!)),
      startUp: {
        mails: warmUp,
        serveCpuMs: startUpCpuMs,
        aboveSteadyMs: startUpCpuMs - warmUp * serveTree,
        // Before the first mail: each process's CPU from its spawn until serve was ready (the pipeline's load and start-up scan).
        doorReadyCpuMs: cpuCold.serveOwn,
        pipelineReadyCpuMs: cpuCold.pipelineOwn,
      },
      completionGapMs: summarize(completions.slice(1).map((t, i) => t - completions[i]!)),
      guestCpuMs: summarize(serve.botEvents.slice(warmEvents).map((e) => e.cpuMs)),
      sandboxWallMs: summarize(serve.botEvents.slice(warmEvents).map((e) => e.wallMs)),
      cpuPerMail: {
        serve: serveOwn,
        pipeline: pipelineOwn,
        runners: serveTree - serveOwn - pipelineOwn,
        postfix: perMail(cpu0.postfix, cpu1.postfix),
        dovecot: perMail(cpu0.dovecot, cpu1.dovecot),
        injector: injectorMs(cpu0.injector, cpu1.injector) / n,
        machine: perMail(cpu0.machine, cpu1.machine),
      },
      rss: {
        serveBytes: rssNow.rssBytes,
        servePeakBytes: rssNow.peakBytes,
        runnerBytes: runners.map((r) => r.rssBytes),
        runnerPeakBytes: runners.map((r) => r.peakBytes),
      },
      unwatched: unwatchedIds.size,
      roundSeconds: 0,
    };
  } finally {
    watcher?.close();
    await serve.stop();
  }
}

/**
 * The phase: one relay and one host data dir; a burst of `mails` at each concurrency in turn (the
 * first always in full; a later one with as many mails as keep the phase under `maxMs`, judged by
 * the previous round's time per mail, or skipped).
 */
export async function measureServiceBurst(options: {
  mails: number;
  concurrencies: number[];
  maxMs: number;
  /** Then this many single mails, one at a time (0: none); outside `maxMs` (~0.2 s each). */
  singles?: number;
  /** Then a burst from many senders to many bots (issue 15 part 3: 10 bots × 100 senders, so no one account's pacing is the limit); outside `maxMs`. */
  spread?: { bots: number; senders: number; mails: number; concurrency: number };
  /** Whether Postfix keeps its LMTP connections to the door, as `host setup` makes it (default true; false to compare). */
  lmtpCache?: boolean;
  log: (text: string) => void;
}): Promise<ServiceResult> {
  const unavailable = serviceBenchUnavailable();
  if (unavailable) return { skipped: unavailable };
  const phaseStart = performance.now();
  const relay = await startRelay();
  let setup: Setup | undefined;
  const notes: string[] = [];
  try {
    setup = await setUp(relay, options.spread?.bots ?? 1, options.spread?.senders ?? 1);
    if (options.lmtpCache !== false) {
      // What `host setup` (and the README's recipe) gives Postfix: its connections to the door kept between mails.
      await relay.keepLmtpConnections(setup.socket);
      notes.push("Postfix keeps its LMTP connections to the door between mails (host setup's lmtp_connection_cache_destinations)");
    } else notes.push("Postfix opens an LMTP connection per mail unless its queue has a backlog (--no-lmtp-cache)");
    const setupSeconds = (performance.now() - phaseStart) / 1000;
    const rounds: ServiceRound[] = [];
    let composeMs = 0;
    let composed = 0;
    let next = 1;
    /** A round's mails: WARM_UP_MAILS for its start-up, then `count` measured ones, numbered on from the last round's. */
    const composeFor: Setup = setup;
    const composeRound = async (count: number, spread?: { bots: number; users: number }): Promise<BenchMail[]> => {
      const mails = await compose(composeFor, next, count + WARM_UP_MAILS, spread);
      next += count + WARM_UP_MAILS;
      return mails;
    };
    let roundMsPerMail = Infinity;
    for (const [index, concurrency] of options.concurrencies.entries()) {
      // A later round gets the mails that fit in what is left of the budget, at the first round's pace.
      let count = options.mails;
      if (index > 0) {
        const left = options.maxMs - (performance.now() - phaseStart) - 5_000;
        count = Math.min(options.mails, Math.floor(left / roundMsPerMail / 100) * 100);
        if (count < 100) {
          notes.push(`concurrency ${concurrency} skipped: not even 100 more mails fit in the phase's ${(options.maxMs / 1000).toFixed(0)} s`);
          continue;
        }
        if (count < options.mails)
          notes.push(
            `concurrency ${concurrency} ran ${count} mails, not ${options.mails}: what fit in the phase's ${(options.maxMs / 1000).toFixed(0)} s (events/s and CPU per mail compare; latency grows with the burst)`,
          );
      }
      const roundStart = performance.now();
      options.log(`   composing ${count} encrypted mails, then the burst at concurrency ${concurrency} …`);
      const mails = await composeRound(count);
      composeMs += performance.now() - roundStart;
      const round = await burst(setup, mails, concurrency, index > 0);
      const roundMs = performance.now() - roundStart;
      roundMsPerMail = roundMs / count;
      composed += count;
      rounds.push({ ...round, roundSeconds: roundMs / 1000 });
    }
    if (options.singles) {
      const roundStart = performance.now();
      options.log(`   composing ${options.singles} encrypted mails, then one at a time (each after the previous reply went out and ${SINGLES_GAP_MS} ms) …`);
      const mails = await composeRound(options.singles);
      composeMs += performance.now() - roundStart;
      composed += options.singles;
      const round = await burst(setup, mails, 1, rounds.length > 0, "singles");
      rounds.push({ ...round, roundSeconds: (performance.now() - roundStart) / 1000 });
    }
    if (options.spread) {
      // Twice over the same pairs: first every sender writes to every bot for the first time (a new
      // peer and key per pair), then again as known pairs (a relay's steady state).
      const { bots, senders, mails: count, concurrency } = options.spread;
      for (const pairs of ["first contact", "known pairs"] as const) {
        const roundStart = performance.now();
        options.log(`   composing ${count} encrypted mails from ${senders} senders to ${bots} bots (${pairs}), then the burst at concurrency ${concurrency} …`);
        const mails = await composeRound(count, { bots, users: senders });
        composeMs += performance.now() - roundStart;
        composed += count;
        const round = await burst(setup, mails, concurrency, rounds.length > 0);
        rounds.push({ ...round, pairs, roundSeconds: (performance.now() - roundStart) / 1000 });
      }
    }
    return {
      rounds,
      injectConnections: INJECT_CONNECTIONS,
      setupSeconds,
      composeMsPerMail: composeMs / composed,
      notes,
      phaseSeconds: (performance.now() - phaseStart) / 1000,
    };
  } finally {
    await relay.stop().catch(() => {});
    if (setup) rmSync(setup.work, { recursive: true, force: true });
  }
}
