// The README's operator recipe ("Install, configure, upgrade" up to "Configure"), run as written:
// its code blocks are read from README.md at test time, so the README cannot drift from what is
// tested. The sh blocks run in bash as root, the systemd unit's ExecStart runs as its User= (the
// way systemd would), against the test relay's real Postfix: a fresh `adduser --system --group`
// user, the setgid socket folder in the relay's queue directory, the transport line Postfix reads,
// and a real Delta Chat client that joins the bot and gets its answer. Only names and places are
// replaced, the ones the README lists. Then the failures an operator meets: a socket whose group
// cannot be set (the service exits non-zero with the fix, its socket gone, nothing answers) and a
// second `host serve` on the same data directory (exits naming the holder's pid).
// Needs root, `make relay-deps` and `make build` (lib/).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { readHolder } from "../../host/service/data-dir-lock.js";
import { captureIo } from "../support/cli-io.js";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { until } from "../support/poll.js";
import { userShellEnv } from "../support/user-shell.js";
import { isSetupBlock, recipeShellBlocks, recipeText, replaceRecipePlaces } from "../support/readme-recipe.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
/** Where the recipe's /opt/chatbot is: this checkout, or a readable copy of it (readableCheckout). */
let CHECKOUT = ROOT;
let CLI = join(ROOT, "lib", "host", "cli", "main.js");

/** True when an unprivileged user can read `file` (every folder above it included). */
function unprivilegedCanRead(file: string): boolean {
  return spawnSync("runuser", ["-u", "nobody", "--", "test", "-r", file]).status === 0;
}

/**
 * /opt/chatbot as the recipe has it: readable by the service's user. A checkout where that user
 * cannot reach it (a clone under /root, 0700) is copied into `into` — hard links where the file
 * system allows (instant), else a copy without the checkout's modes — with the parts the service runs.
 */
function readableCheckout(into: string): string {
  if (unprivilegedCanRead(join(ROOT, "lib", "host", "cli", "main.js"))) return ROOT;
  mkdirSync(into, { mode: 0o755 });
  const parts = ["package.json", "lib", "node_modules", "std", "templates"];
  const linked = parts.every((part) => spawnSync("cp", ["-al", join(ROOT, part), into]).status === 0);
  if (!linked || !unprivilegedCanRead(join(into, "lib", "host", "cli", "main.js"))) {
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into, { mode: 0o755 });
    for (const part of parts) execFileSync("cp", ["-r", "--no-preserve=mode,ownership", join(ROOT, part), into]);
  }
  return into;
}
/** The README's bot and the relay's domain: the relay is started with the README's domain, so addresses stay as written. */
const DOMAIN = "chat.example.org";
const BOT = `echobot01@${DOMAIN}`;
const BOT_PASSWORD = "echo-bot-password-1";
/** The Postfix daemons that hold a transport table read at their start (as test/relay/route.sh waits for). */
const TABLE_READERS = /^(trivial-rewrite|qmgr|cleanup)$/;

/** One code block of the recipe, in README order. */
type Block =
  | { kind: "sh"; lines: string[] }
  | { kind: "unit"; user: string; exec: string[]; env: Record<string, string>; noNewPrivileges: boolean; readWritePaths: string[] };

/** The recipe's blocks with the README's names and places replaced (the list is in the README). */
function recipeBlocks(places: { dataDir: string; user: string; queueDir: string; configDir: string; smtpPort: number; imapPort: number }): Block[] {
  const replaced = replaceRecipePlaces(recipeText(), { ...places, checkout: CHECKOUT });
  const shell = recipeShellBlocks(replaced);
  const blocks: Block[] = [];
  // In README order: the sh blocks and the unit (ini) block.
  for (const match of replaced.matchAll(/```(sh|ini)\n([\s\S]*?)```/g)) {
    const body = match[2]!;
    if (match[1] === "sh") {
      const lines = shell.shift()!;
      // The one-command alternative (`host setup`) is self-service.test.ts's: this test runs the steps by hand.
      if (!isSetupBlock(lines)) blocks.push({ kind: "sh", lines });
    } else {
      const value = (key: string) =>
        body
          .split("\n")
          .find((line) => line.startsWith(`${key}=`))
          ?.slice(key.length + 1);
      const env = Object.fromEntries(
        body
          .split("\n")
          .filter((line) => line.startsWith("Environment="))
          .map((line) => line.slice("Environment=".length).split("=") as [string, string]),
      );
      blocks.push({
        kind: "unit",
        user: value("User") ?? "root",
        exec: (value("ExecStart") ?? "").split(/\s+/),
        env,
        noNewPrivileges: value("NoNewPrivileges") === "yes",
        readWritePaths: (value("ReadWritePaths") ?? "").split(/\s+/).filter(Boolean),
      });
    }
  }
  return blocks;
}

/** Run a program to its end; its exit code and output. */
function runToEnd(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? userShellEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Whether something answers on a unix socket (an LMTP door would send its 220). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A process of the service, started as systemd would: ExecStart as User=, its output kept. */
interface Service {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<number | null>;
}

function startService(user: string, exec: string[], env: Record<string, string>): Service {
  const child = spawn("runuser", ["-u", user, "--", ...exec], { cwd: "/", env: userShellEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const service: Service = { child, out: "", err: "", exited: new Promise((resolve) => child.once("exit", resolve)) };
  child.stdout!.on("data", (chunk: Buffer) => (service.out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (service.err += chunk.toString()));
  return service;
}

/** Stop a service process (the node below runuser gets SIGTERM, as systemctl stop sends it). */
async function stopService(service: Service | undefined, dataDir: string): Promise<void> {
  if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
  const holder = readHolder(join(dataDir, "serve.lock"));
  if (holder) {
    try {
      process.kill(holder.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const stopped = await Promise.race([service.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000))]);
  if (!stopped) service.child.kill("SIGKILL");
}

/** The running processes from /proc (no procps needed): pid, parent, name and real uid. */
function processes(): Array<{ pid: number; ppid: number; comm: string; uid: number }> {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1]);
        return [{ pid: Number(name), ppid, comm, uid }];
      } catch {
        return []; // exited meanwhile
      }
    });
}

/** Child pids of the relay's Postfix master that read transport tables when they start. */
function tableReaders(relay: TestRelay): number[] {
  const master = Number(readFileSync(join(relay.base, "spool", "pid", "master.pid"), "utf8").trim());
  return processes()
    .filter((p) => p.ppid === master && TABLE_READERS.test(p.comm))
    .map((p) => p.pid);
}

describe.skipIf(!relayAvailable())("README operator recipe, run verbatim as a fresh system user against the test relay's Postfix", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  // A fresh system user per run: the relay's own `chatbot` pipe user may be in use by other tests.
  const user = `cbrecipe${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const root = mkdtempSync(join(tmpdir(), "operator-recipe-"));
  const operatorDir = join(root, "operator");
  const dataDir = join(root, "var-lib-chatbot");
  let service: Service | undefined;
  const others: Service[] = [];
  let userCreated = false;

  beforeAll(async () => {
    chmodSync(root, 0o755); // the user must reach the data directory below it (adduser makes it)
    CHECKOUT = readableCheckout(join(root, "opt-chatbot"));
    CLI = join(CHECKOUT, "lib", "host", "cli", "main.js");
    [relay, dc] = await Promise.all([startRelay({ domain: DOMAIN }), startDeltaChat()]);
    // What the operator has before step 4: the bot's chatmail account and its built folder.
    await relay.addUser(BOT, BOT_PASSWORD);
    mkdirSync(operatorDir, { mode: 0o755 });
    const io = captureIo(root);
    expect(await runCli(["new", join(root, "echo-src"), "--template", "echo"], io), io.err).toBe(0);
    expect(await runCli(["build", join(root, "echo-src"), "--out-dir", join(operatorDir, "echo")], io), io.err).toBe(0);
    writeFileSync(join(operatorDir, "echo.pw"), `${BOT_PASSWORD}\n`, { mode: 0o644 });
  }, 120_000);

  afterAll(async () => {
    await stopService(service, dataDir);
    for (const other of others) if (other.child.exitCode === null) other.child.kill("SIGKILL");
    await dc?.close();
    await relay?.stop();
    if (userCreated) {
      // The user's processes are gone once its service stopped; wait for the last runner to exit.
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      await until(() => !processes().some((p) => p.uid === uid), `no process of ${user} left`, 15_000).catch(() => {});
      spawnSync("userdel", [user]);
      spawnSync("groupdel", [user]); // userdel removes the user's own group too; this is for when it did not
    }
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it("README recipe verbatim: a mail Postfix delivers over LMTP to the setgid socket is spooled and answered, with no extra group membership", async () => {
    const queueDir = join(relay.base, "spool");
    const configDir = join(relay.base, "server", "postfix");
    const blocks = recipeBlocks({ dataDir, user, queueDir, configDir, smtpPort: relay.submissionPort, imapPort: relay.imapPort });
    // The recipe is what the README promises: a user, init, the socket folder, the unit, Postfix, a bot and its invite.
    const commands = blocks.flatMap((block) => (block.kind === "sh" ? block.lines : []));
    expect(commands.some((line) => line.startsWith(`adduser --system --group --home ${dataDir} ${user}`))).toBe(true);
    expect(commands.some((line) => line.includes("host init") && line.includes("--lmtp-group postfix"))).toBe(true);
    expect(commands).toContain(`install -d -o ${user} -g postfix -m 2750 ${queueDir}/chatbot`);
    // Routes the host keeps (issue 13, part 3): one table, set up once; no per-bot Postfix line, no reload after step 3.
    expect(commands.some((line) => line.includes("host init") && line.includes(`--transport-map ${dataDir}-routes/transport`))).toBe(true);
    expect(commands).toContain(`postconf -e 'transport_maps = hash:${dataDir}-routes/transport' && postfix reload`);
    // Postfix keeps its LMTP connections to the door (lmtp-cache.ts); the README names the default socket's key.
    expect(commands).toContain("postconf -e 'lmtp_connection_cache_destinations = inline:{chatbot/lmtp.sock=yes}' && postfix reload");
    const installAt = commands.findIndex((line) => line.includes(" host install "));
    expect(installAt).toBeGreaterThan(0);
    expect(commands.slice(installAt).filter((line) => /postfix reload|postconf|transport/.test(line))).toEqual([]);
    expect(blocks.filter((block) => block.kind === "unit")).toHaveLength(1);
    // The checkout must be readable by an unprivileged user, as /opt/chatbot is (a checkout under /root is not).
    expect(unprivilegedCanRead(CLI), `an unprivileged user cannot read ${CLI}`).toBe(true);

    let invite = "";
    const env = userShellEnv({ MAIL_CONFIG: configDir });
    for (const block of blocks) {
      if (block.kind === "unit") {
        expect(block.user).toBe(user);
        // NoNewPrivileges=yes as systemd applies it (prctl PR_SET_NO_NEW_PRIVS before exec): the
        // runner walls must come up under it. The other hardening lines need systemd itself.
        expect(block.noNewPrivileges).toBe(true);
        // ProtectSystem=strict leaves only ReadWritePaths writable: every folder the service writes
        // must be there (the data, the socket's folder, the routes table's folder).
        const hostJson = JSON.parse(readFileSync(join(dataDir, "host.json"), "utf8")) as { lmtpSocket: string; transportMap?: string };
        for (const folder of [dataDir, dirname(hostJson.lmtpSocket), ...(hostJson.transportMap ? [dirname(hostJson.transportMap)] : [])]) {
          expect(block.readWritePaths, `ReadWritePaths lacks ${folder}`).toContain(folder);
        }
        // MAIL_CONFIG: the service's postmap acts on the test relay's Postfix too, like postconf above.
        service = startService(block.user, ["/usr/bin/setpriv", "--no-new-privs", "--", ...block.exec], { ...block.env, MAIL_CONFIG: configDir });
        await until(() => service!.out.includes('"event":"service.started"') || service!.child.exitCode !== null, "the service to start", 60_000);
        expect(service.child.exitCode, `service exited: ${service.err}`).toBeNull();
        continue;
      }
      if (block.lines[0]?.startsWith("adduser ")) userCreated = true;
      const readers = tableReaders(relay);
      const script = ["set -euxo pipefail", ...block.lines].join("\n");
      const { code, out, err } = await runToEnd("bash", ["-c", script], { cwd: operatorDir, env, timeoutMs: 120_000 });
      expect(code, `${out}\n${err}`).toBe(0);
      invite = /https:\/\/i\.delta\.chat\/#\S+/.exec(out)?.[0] ?? invite;
      // After `postfix reload` the daemons holding the old table exit when idle; new ones read the new table.
      if (block.lines.some((line) => line.includes("postfix reload"))) {
        await until(() => readers.every((pid) => !existsSync(`/proc/${pid}`)), "the old Postfix daemons to exit", 15_000);
      }
    }
    expect(invite).not.toBe("");

    // What the recipe set up: a private data directory, the socket in the setgid folder with group postfix.
    const socketPath = join(queueDir, "chatbot", "lmtp.sock");
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(queueDir, "chatbot")).mode & 0o7777).toBe(0o2750);
    expect(statSync(socketPath).gid).toBe(Number(execFileSync("getent", ["group", "postfix"], { encoding: "utf8" }).split(":")[2]));
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
    // No group membership: the service user is in its own group only, and postfix is not in it.
    expect(execFileSync("id", ["-nG", user], { encoding: "utf8" }).trim()).toBe(user);
    expect(execFileSync("id", ["-nG", "postfix"], { encoding: "utf8" }).split(/\s+/)).not.toContain(user);

    // A person scans the invite and writes; Postfix delivers over LMTP; the bot answers.
    const alice = await dc.createAccount(relay, "Alice", `alice@${DOMAIN}`, "alice-password");
    const chatId = await dc.joinByQr(alice, invite, 60_000);
    const answer = dc.waitForIncomingMessage(alice, (m) => m.chatId === chatId && m.text === "echo: hello from the operator recipe", 60_000);
    await dc.rpc.miscSendTextMessage(alice, chatId, "hello from the operator recipe");
    expect((await answer).showPadlock).toBe(true);
    expect(service!.out).toMatch(new RegExp(`"event":"lmtp\\.spooled","bot":"${BOT.replace(/\./g, "\\.")}"`));
    expect(service!.out).toContain('"event":"routing.synced"');
    expect(service!.out).not.toContain('"event":"routing.failed"');
    // The bot ran behind the walls (issue 12): the service user is not root, so its runners are
    // root of a user namespace of their own, with no network and a view of only what node needs —
    // every layer that `host doctor`, run as that user, finds up on this machine.
    const walls = JSON.parse(service!.out.split("\n").find((line) => line.includes('"event":"runner.walls"')) ?? "null") as {
      confined: boolean;
      up: string[];
    } | null;
    const doctor = JSON.parse(execFileSync("runuser", ["-u", user, "--", process.execPath, CLI, "host", "doctor", "--json"], { encoding: "utf8" })) as {
      walls: Array<{ layer: string; up: boolean }>;
      combined: { ok: boolean };
    };
    const upHere = doctor.walls.filter((w) => w.up).map((w) => w.layer);
    expect(walls?.up).toEqual(upHere);
    expect(walls?.confined).toBe(doctor.combined.ok && upHere.some((layer) => layer !== "cgroup"));
    if (!walls?.confined) console.warn(`operator recipe: the service ran WITHOUT walls here (${JSON.stringify(doctor.walls)})`);
    const servicePid = readHolder(join(dataDir, "serve.lock"))!.pid;
    expect(readFileSync(`/proc/${servicePid}/status`, "utf8")).toMatch(/^NoNewPrivs:\s+1$/m);
    const postfixLog = await relay.readLog("postfix");
    expect(postfixLog).toMatch(
      new RegExp(`to=<${BOT.replace(/\./g, "\\.")}>, relay=[^,]*chatbot/lmtp\\.sock\\].*status=sent \\(250 2\\.6\\.0 \\S+ spooled\\)`),
    );
  }, 300_000);

  it("a second host serve on the same data directory (serve --once beside the service) exits non-zero naming the holder's pid; the service keeps running", async () => {
    expect(service?.child.exitCode, "the recipe test starts the service").toBeNull();
    const holder = readHolder(join(dataDir, "serve.lock"))!;
    // The recorded holder is the service's node process (runuser's child), not a stale record.
    expect(readFileSync(`/proc/${holder.pid}/cmdline`, "utf8")).toContain("host\0serve");
    expect(Number(readFileSync(`/proc/${holder.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1])).toBe(service!.child.pid);
    const second = await runToEnd("runuser", ["-u", user, "--", process.execPath, CLI, "host", "serve", "--once", "--data-dir", dataDir]);
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBeNull();
    expect(second.err).toContain(`pid ${holder.pid}`);
    expect(second.err).toMatch(/stop it first/);
    expect(second.out).not.toContain('"event":"service.drained"');
    expect(service!.child.exitCode).toBeNull();
    expect(await answers(join(relay.base, "spool", "chatbot", "lmtp.sock"))).toBe(true);
  }, 60_000);

  it("half-started: a socket whose group cannot be set → host serve exits non-zero with the reason and the fix on stderr, its socket gone, nothing answering", async () => {
    expect(userCreated, "the recipe test creates the user").toBe(true);
    // A second host of the same user whose socket folder is plain (the user's own group, no setgid):
    // the socket cannot get group postfix, and this user may not chown it (not a member of postfix).
    const other = join(root, "other");
    const plain = join(root, "plain");
    for (const dir of [other, plain]) {
      mkdirSync(dir, { mode: 0o755 });
      execFileSync("chown", [`${user}:${user}`, dir]);
    }
    const socketPath = join(plain, "lmtp.sock");
    const init = await runToEnd("runuser", [
      "-u",
      user,
      "--",
      process.execPath,
      CLI,
      "host",
      "init",
      "--data-dir",
      other,
      "--lmtp-socket",
      socketPath,
      "--lmtp-group",
      "postfix",
    ]);
    expect(init.code, init.err).toBe(0);
    const serve = startService(user, [process.execPath, CLI, "host", "serve", "--data-dir", other], { NODE_ENV: "production" });
    others.push(serve);
    const code = await Promise.race([serve.exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 60_000))]);
    expect(code, `still running after 60 s, half-started: ${serve.out}`).not.toBe("hung");
    expect(code).not.toBe(0);
    expect(serve.err).toContain(`error E_CONFIG: the LMTP socket ${socketPath} got group ${user}, not postfix (lmtpSocketGroup)`);
    expect(serve.err).toContain(`install -d -o ${user} -g postfix -m 2750 ${plain}`);
    expect(serve.out).toContain('"event":"service.failed"');
    expect(serve.out).not.toContain('"event":"service.started"');
    expect(existsSync(socketPath)).toBe(false);
    expect(await answers(socketPath)).toBe(false);
    // It released its lock too: the next start (after the fix) is not refused.
    const again = await runToEnd("runuser", ["-u", user, "--", process.execPath, CLI, "host", "serve", "--once", "--data-dir", other]);
    expect(again.code, again.err).toBe(0);
  }, 120_000);
});
