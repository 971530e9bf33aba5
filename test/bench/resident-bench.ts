// Issue 15 part 5: the host side by side with the alternative, a resident Delta Chat bot (its own
// deltachat-rpc-server and a minimal node client, resident-echo-bot.mjs) on the same test relay.
// One sender, a real core (MAIN_CORE) in this process, joins each bot by its QR and sends texts to
// each in turn, waiting for every echo; the two bots take alternating blocks so machine noise hits
// both alike. Per side: its whole process tree's CPU over the echo window (not start-up), the
// latency send → echo shown to the sender, and the tree's RSS after an idle wait. Nothing here
// judges a number; an echo missing or wrong fails.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { runCli } from "../../host/cli/main.js";
import { captureIo, cliOrThrow } from "../support/cli-io.js";
import { MAIN_CORE, rpcServerPath } from "../support/dc-cores.js";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { startRelay, type TestRelay } from "../support/relay.js";
import { relayHostInitArgs } from "../support/relay-host-init.js";
import { spawnServe } from "../support/serve-process.js";
import { treeRssKiB } from "./idle-bench.js";
import { processTree, treeCpuMs } from "./proc.js";
import { serviceBenchUnavailable } from "./service-bench.js";
import { summarize, type Summary } from "./stats.js";
import { PIPELINE_REST_AFTER_MS, RUNNER_IDLE_STOP_MS } from "../../core/limits.js";

const RESIDENT_BOT = fileURLToPath(new URL("./resident-echo-bot.mjs", import.meta.url));
/** Echoes sent to one bot before switching to the other. */
const BLOCK = 10;
/**
 * Quiet time after the last echo before the RSS is read, ms: both bots settle (GC, IMAP IDLE) and
 * the host has stopped its idle runner (RUNNER_IDLE_STOP_MS) and its pipeline process has rested
 * (PIPELINE_REST_AFTER_MS after its last work, its state copy pushed), as a host at rest does.
 */
const IDLE_WAIT_MS = Math.max(RUNNER_IDLE_STOP_MS, PIPELINE_REST_AFTER_MS) + 30_000;
/** An echo not back after this long is missing, not slow (one takes ~0.6 s on the test relay). */
const ECHO_TIMEOUT_MS = 30_000;
/** SecureJoin with either bot (~2.5 s each on the test relay). */
const JOIN_TIMEOUT_MS = 60_000;

export interface BotSide {
  /** Whole tree's CPU over the echo window per echo, ms (host: serve's door + pipeline + runner; resident: node + rpc-server). */
  cpuMsPerEcho: number;
  /** The sender's send call → the echo's IncomingMsg loaded, ms. */
  latencyMs: Summary;
  /** Whole tree's RSS after IDLE_WAIT_MS without traffic, KiB; `processes` in the tree then. */
  idleRssKiB: number;
  processes: number;
}

export type ResidentResult =
  | { skipped: string }
  | { echoes: number; block: number; core: string; host: BotSide; resident: BotSide; windowSeconds: number; idleWaitMs: number; setupSeconds: number };

interface Bot {
  pid: number;
  chatId: number;
  latencies: number[];
}

/** Spawn the resident bot; resolves with its process and invite QR once it listens. */
async function startResident(relay: TestRelay, work: string): Promise<{ child: ChildProcess; qr: string }> {
  const addr = `resident@${relay.domain}`;
  await relay.addUser(addr, "resident-password");
  const accounts = join(work, "resident-accounts");
  mkdirSync(accounts);
  const args = [RESIDENT_BOT, rpcServerPath(MAIN_CORE), accounts, addr, "resident-password", String(relay.imapPort), String(relay.submissionPort)];
  // As a unit file would start it: plain node, no loaders or options of this process.
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  let out = "";
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const qr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the resident bot printed no QR within 60 s: ${err.slice(-1000)}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      resolve((JSON.parse(out.split("\n")[0]!) as { qr: string }).qr);
    });
    child.once("exit", (code) => reject(new Error(`the resident bot exited (${code}): ${err.slice(-1000)}`)));
  });
  return { child, qr };
}

/** SIGTERM the resident bot, then SIGKILL whatever of its tree (rpc-server) is left after 5 s. */
async function stopResident(child: ChildProcess): Promise<void> {
  const tree = processTree(child.pid!);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }
  for (const pid of tree) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** `chatbot host` with the echo bot installed on `relay`, serving as its own process, mail routed to it; its invite link. */
async function setUpHost(relay: TestRelay, work: string) {
  const data = join(work, "data");
  const socket = join(work, "lmtp.sock");
  const io = captureIo(work);
  const cli = cliOrThrow(io);
  await cli(relayHostInitArgs(relay, data, socket));
  // One sender's echoes and joins in a minute: above the seed's 60 mails/hour; the test relay has no send-rate filter.
  const configFile = join(data, "host.json");
  const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  const lots = 1_000_000;
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, ceilings: { perUser: { mailsPerHour: lots, mailsPerDay: lots } }, pacing: { sendsPerMinute: lots, sendBurst: lots } }),
  );
  await cli(["new", "echo", "--name", "echo"]);
  await cli(["build", "echo"]);
  const addr = `echobot01@${relay.domain}`;
  writeFileSync(join(work, "pw"), "echo-bot-password");
  await relay.addUser(addr, "echo-bot-password");
  await cli(["host", "install", addr, "echo", "--password-file", "pw", "--name", "Echo", "--data-dir", data]);
  const serve = spawnServe(data);
  await serve.started();
  await relay.routeToLmtp(addr, socket);
  // What `host setup` gives Postfix: its connections to the door kept between mails.
  await relay.keepLmtpConnections(socket);
  const qr = captureIo(work);
  if ((await runCli(["host", "qr", addr, "--json", "--data-dir", data], qr)) !== 0) throw new Error(`chatbot host qr failed: ${qr.err}`);
  return { serve, link: (JSON.parse(qr.out) as { link: string }).link };
}

/** Send `text` from `account` to the bot's chat and wait for "echo: TEXT" there; the latency, ms. */
async function echo(dc: DeltaChatDriver, account: number, chatId: number, text: string): Promise<number> {
  const reply = dc.waitForIncomingMessage(account, (m) => m.chatId === chatId, ECHO_TIMEOUT_MS);
  const sent = performance.now();
  await dc.rpc.miscSendTextMessage(account, chatId, text);
  const message = await reply;
  const latency = performance.now() - sent;
  if (message.text !== `echo: ${text}`) throw new Error(`resident bench: sent ${JSON.stringify(text)}, got ${JSON.stringify(message.text)}`);
  return latency;
}

function side(bot: Bot, cpuMs: number, echoes: number, idleRssKiB: number): BotSide {
  return { cpuMsPerEcho: cpuMs / echoes, latencyMs: summarize(bot.latencies), idleRssKiB, processes: processTree(bot.pid).length };
}

/** The phase: `echoes` texts to each bot in alternating blocks of BLOCK, after one untimed echo each. */
export async function measureResidentVsHost(echoes: number, log: (text: string) => void = () => {}): Promise<ResidentResult> {
  const unavailable = serviceBenchUnavailable();
  if (unavailable) return { skipped: unavailable };
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), "bench-resident-"));
  chmodSync(work, 0o755); // Postfix's lmtp client (user postfix) must reach the socket inside
  let relay: TestRelay | undefined;
  let dc: DeltaChatDriver | undefined;
  let serve: Awaited<ReturnType<typeof setUpHost>>["serve"] | undefined;
  let resident: ChildProcess | undefined;
  try {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat(MAIN_CORE)]);
    const host = await setUpHost(relay, work);
    serve = host.serve;
    const res = await startResident(relay, work);
    resident = res.child;
    const alice = await dc.createAccount(relay, "Alice", `alice@${relay.domain}`, "alice-password");
    log("   the sender joins both bots by QR …");
    const hostBot: Bot = { pid: serve.child.pid!, chatId: await dc.joinByQr(alice, host.link, JOIN_TIMEOUT_MS), latencies: [] };
    const residentBot: Bot = { pid: resident.pid!, chatId: await dc.joinByQr(alice, res.qr, JOIN_TIMEOUT_MS), latencies: [] };
    const bots = [hostBot, residentBot];
    for (const bot of bots) await echo(dc, alice, bot.chatId, "warm-up"); // first mail after the join: keys, caches
    const setupSeconds = (performance.now() - started) / 1000;

    log(`   ${echoes} echoes to each, alternating blocks of ${BLOCK} …`);
    const cpu0 = bots.map((bot) => treeCpuMs(bot.pid));
    const windowStart = performance.now();
    for (let first = 0; first < echoes; first += BLOCK)
      for (const [index, bot] of bots.entries())
        for (let i = first; i < Math.min(echoes, first + BLOCK); i++) bot.latencies.push(await echo(dc, alice, bot.chatId, `bench ${index} ${i}`));
    const cpu = bots.map((bot, i) => treeCpuMs(bot.pid) - cpu0[i]!);
    const windowSeconds = (performance.now() - windowStart) / 1000;

    log(`   idle ${IDLE_WAIT_MS / 1000} s, then RSS …`);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WAIT_MS));
    const rss = bots.map((bot) => treeRssKiB(bot.pid));
    return {
      echoes,
      block: BLOCK,
      core: MAIN_CORE.name,
      host: side(hostBot, cpu[0]!, echoes, rss[0]!),
      resident: side(residentBot, cpu[1]!, echoes, rss[1]!),
      windowSeconds,
      idleWaitMs: IDLE_WAIT_MS,
      setupSeconds,
    };
  } finally {
    if (resident) await stopResident(resident);
    await serve?.stop();
    await dc?.close();
    await relay?.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
