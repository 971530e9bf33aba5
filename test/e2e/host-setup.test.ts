// `chatbot host setup` (issue 13, parts 1 and 2) against the test relay's real Postfix and Dovecot,
// as root, for a fresh system user: --dry-run changes nothing; setup does every step; a second run
// changes nothing (Postfix's and Dovecot's config and the unit file the same; Postfix keeps its
// LMTP connections to the door); host doctor finds the routes right; --remove leaves both as they
// were before setup (postconf -n, doveconf -n and dovecot.conf, compared line by line).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";

const CLI = fileURLToPath(new URL("../../lib/host/cli/main.js", import.meta.url));
/** The steps of `host setup` (setup-steps.ts, dovecot-steps.ts). */
const STEPS = 13;

describe.skipIf(!relayAvailable())("host setup on the test relay's Postfix", () => {
  let relay: TestRelay;
  const user = `cbsetup${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const root = mkdtempSync(join(tmpdir(), "host-setup-"));
  let env: NodeJS.ProcessEnv;
  let args: string[];
  let postconfBefore: string;

  /** `chatbot host setup …` as its own process (its commands act on the relay's Postfix through MAIL_CONFIG). */
  const setup = (...extra: string[]) => {
    const result = spawnSync(process.execPath, [CLI, "host", "setup", ...args, ...extra], { env, encoding: "utf8", timeout: 120_000 });
    return { code: result.status, out: result.stdout, err: result.stderr };
  };
  const postconf = () => execFileSync("postconf", ["-n"], { env, encoding: "utf8" });
  let dovecotBefore: { doveconf: string; file: string };
  const dovecotConf = () => join(relay.base, "server", "dovecot.conf");
  const dovecot = () => ({ doveconf: execFileSync("doveconf", ["-n", "-c", dovecotConf()], { encoding: "utf8" }), file: readFileSync(dovecotConf(), "utf8") });

  beforeAll(async () => {
    chmodSync(root, 0o755); // the user reaches its data and Postfix the routes below it
    relay = await startRelay();
    env = { ...process.env, MAIL_CONFIG: join(relay.base, "server", "postfix") };
    args = [
      "--user",
      user,
      "--data-dir",
      join(root, "data"),
      "--routes-dir",
      join(root, "routes"),
      "--queue-dir",
      join(relay.base, "spool"),
      "--smtp-port",
      String(relay.submissionPort),
      "--imap-port",
      String(relay.imapPort),
      "--unit-file",
      join(root, "chatbot.service"),
      "--deploy-dir",
      join(root, "deploy"),
      "--mail-group",
      "5000", // the test relay's mail uid and gid (test/relay/setup.sh VMAIL_UID)
      "--dovecot-config",
      dovecotConf(),
    ];
    postconfBefore = postconf();
    dovecotBefore = dovecot();
  }, 60_000);

  afterAll(async () => {
    await relay?.stop();
    spawnSync("userdel", [user]);
    spawnSync("groupdel", [user]);
    rmSync(root, { recursive: true, force: true });
  });

  it("--dry-run lists every step with its command and changes nothing", () => {
    const { code, out } = setup("--dry-run");
    expect(code).toBe(0);
    // Dovecot's Sieve plugins are installed already (test/relay/install.sh): that step is done.
    expect(out.match(/^todo {4}/gm)).toHaveLength(STEPS - 1);
    expect(out).toMatch(/^ok {6}Dovecot's Sieve plugins/m);
    expect(out).toContain(`adduser --system --group --home ${join(root, "data")} ${user}`);
    expect(out).toMatch(/postconf -e 'transport_maps = hash:.*\/routes\/transport, texthash:.*' && postfix reload/);
    // The socket is not below /var/spool/postfix here: Postfix names it by its whole path, which it lower-cases to match.
    expect(out).toContain(
      `postconf -e 'lmtp_connection_cache_destinations = inline:{${join(relay.base, "spool", "chatbot", "lmtp.sock").toLowerCase()}=yes}' && postfix reload`,
    );
    expect(out).toMatch(new RegExp(`${STEPS - 1} steps to do; run without --dry-run`));
    expect(out).toMatch(/Dovecot: IMAPSieve pipes each deploy put into ChatbotInstall to the host/);
    expect(postconf()).toBe(postconfBefore);
    expect(dovecot()).toEqual(dovecotBefore);
    expect(spawnSync("id", ["-u", user]).status).not.toBe(0);
    expect(existsSync(join(root, "data"))).toBe(false);
  });

  it("setup does every step; a second run changes nothing", () => {
    const first = setup();
    expect(first.code, first.err).toBe(0);
    expect(first.out.match(/^doing {3}/gm)).toHaveLength(STEPS - 1);
    const after = postconf();
    expect(after).toMatch(new RegExp(`^transport_maps = hash:${join(root, "routes", "transport")}, texthash:`, "m"));
    expect(after).toContain(`\nlmtp_connection_cache_destinations = inline:{${join(relay.base, "spool", "chatbot", "lmtp.sock").toLowerCase()}=yes}\n`);
    const unit = readFileSync(join(root, "chatbot.service"), "utf8");
    expect(unit).toContain(`User=${user}\n`);
    expect(unit).toContain(`ReadWritePaths=${join(root, "data")} ${join(relay.base, "spool", "chatbot")} ${join(root, "routes")} -${join(root, "deploy")}\n`);
    // The deploy inbox: the host user's, Dovecot's mail group may write, nobody else may look in.
    expect(statSync(join(root, "deploy")).mode & 0o7777).toBe(0o2770);
    expect(statSync(join(root, "deploy")).gid).toBe(5000);
    expect((JSON.parse(readFileSync(join(root, "data", "host.json"), "utf8")) as { deployInbox: string }).deployInbox).toBe(join(root, "deploy"));
    // Dovecot reads the IMAPSieve rule through one include line, and the compiled script is readable by the mail user.
    const dovecotAfter = dovecot();
    expect(dovecotAfter.file).toBe(`${dovecotBefore.file}!include_try chatbot-deploy.conf\n`);
    expect(dovecotAfter.doveconf).toMatch(/imapsieve_mailbox1_name = ChatbotInstall/);
    expect(statSync(join(relay.base, "server", "chatbot", "deploy.svbin")).mode & 0o444).toBe(0o444);
    expect(statSync(join(relay.base, "spool", "chatbot")).mode & 0o7777).toBe(0o2750);
    expect(existsSync(join(root, "routes", "transport.db"))).toBe(true);
    // The reload Postfix needs to see a changed table at once (systemd-unit.ts routesReloadUnits).
    expect(readFileSync(join(root, "chatbot-routes.path"), "utf8")).toContain(`PathChanged=${join(root, "routes", "transport.db")}\n`);
    expect(readFileSync(join(root, "chatbot-routes.service"), "utf8")).toContain("ExecStart=/usr/sbin/postfix reload\n");
    const unitTime = statSync(join(root, "chatbot.service")).mtimeMs;

    const second = setup();
    expect(second.code, second.err).toBe(0);
    expect(second.out.match(/^ok {6}/gm)).toHaveLength(STEPS);
    expect(second.out).toMatch(/nothing to change/);
    expect(postconf()).toBe(after);
    expect(dovecot()).toEqual(dovecotAfter);
    expect(statSync(join(root, "chatbot.service")).mtimeMs).toBe(unitTime);
  });

  it("host doctor finds the routes right", () => {
    const out = execFileSync(process.execPath, [CLI, "host", "doctor", "--json", "--data-dir", join(root, "data")], { env, encoding: "utf8" });
    // No bot installed: nothing to send a probe mail through.
    // No hint either: setup made Postfix keep its LMTP connections to the door.
    expect((JSON.parse(out) as { routes: unknown }).routes).toEqual({ file: join(root, "routes", "transport"), bots: 0, probe: null, problems: [], hints: [] });
  });

  it("--remove leaves Postfix's config as before setup and the unit gone; a second --remove changes nothing", () => {
    const removed = setup("--remove");
    expect(removed.code, removed.err).toBe(0);
    expect(postconf()).toBe(postconfBefore);
    expect(dovecot()).toEqual(dovecotBefore);
    expect(existsSync(join(relay.base, "server", "chatbot-deploy.conf"))).toBe(false);
    expect(existsSync(join(relay.base, "server", "chatbot"))).toBe(false);
    expect(existsSync(join(root, "chatbot.service"))).toBe(false);
    expect(existsSync(join(root, "chatbot-routes.path"))).toBe(false);
    expect(existsSync(join(root, "chatbot-routes.service"))).toBe(false);
    expect(removed.out).toMatch(/the user, the data directory and the folders are kept/);
    const again = setup("--remove");
    expect(again.out).toMatch(/nothing to change/);
  });
});
