// `chatbot deploy` against the test relay's real Dovecot: the author uploads into the bot account's
// ChatbotInstall folder, a real `chatbot host serve` installs it, an upgrade follows the same way,
// `host install --rollback` brings the first version back, and the host's logins keep the account alive.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { readBundleFolder } from "../../host/service/installed-bots.js";
import { captureIo } from "../support/cli-io.js";
import { runDeploy, setManifestVersion } from "../support/deploy-cli.js";
import { until } from "../support/poll.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { spawnServe, type ServeProcess } from "../support/serve-process.js";

describe.skipIf(!relayAvailable())("chatbot deploy to a real relay account", () => {
  let relay: TestRelay;
  let work: string;
  let data: string;
  let bot: string;
  let serve: ServeProcess | undefined;
  const lines: Array<Record<string, unknown>> = [];

  const setVersion = (version: string) => setManifestVersion(join(work, "echo"), version);
  const deploy = async () => {
    const { code, out, err } = await runDeploy(work, relay.imapPort, bot, "pw", "echo", "--json");
    expect(code, err).toBe(0);
    return JSON.parse(out) as { version: string; folder: string; uid: number | null };
  };
  const installed = async () =>
    (await readBundleFolder(join(data, "bots", bot, "current"), await loadHostConfig(join(data, "host.json"), data))).manifest.version;
  /** Messages in the account's ChatbotInstall folder, as Dovecot keeps it on disk (Maildir++: .ChatbotInstall). */
  const waitingInFolder = () =>
    ["new", "cur"].flatMap((sub) => {
      const dir = join(relay.maildir(bot), ".ChatbotInstall", sub);
      return existsSync(dir) ? readdirSync(dir) : [];
    });

  beforeAll(async () => {
    relay = await startRelay();
    bot = `echobot01@${relay.domain}`;
    work = mkdtempSync(join(tmpdir(), "deploy-e2e-"));
    data = join(work, "data");
    const io = captureIo(work);
    // The host reaches Dovecot as on a relay: STARTTLS to loopback, accepting its self-signed certificate.
    expect(
      await runCli(
        ["host", "init", "--data-dir", data, "--smtp-port", String(relay.submissionPort), "--imap-port", String(relay.imapPort), "--imap-security", "starttls"],
        io,
      ),
    ).toBe(0);
    const configFile = join(data, "host.json");
    const config = JSON.parse(readFileSync(configFile, "utf8")) as { imap: Record<string, unknown> };
    writeFileSync(configFile, JSON.stringify({ ...config, imap: { ...config.imap, pollSeconds: 1 } }));
    expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
    expect(await runCli(["build", "echo"], io)).toBe(0);
    writeFileSync(join(work, "pw"), "echo-bot-password");
    await relay.addUser(bot, "echo-bot-password");
  });

  afterAll(async () => {
    serve?.child.kill("SIGKILL");
    await relay?.stop();
  });

  it("deploy → installed by the host → upgrade → rollback, with the account's login refreshed", { timeout: 120_000 }, async () => {
    // 1. The author deploys 1.0.0; the operator installs the new bot from its account.
    const first = await deploy();
    expect(first).toMatchObject({ version: "1.0.0", folder: "ChatbotInstall" });
    expect(waitingInFolder()).toHaveLength(1);
    const install = captureIo(work);
    expect(await runCli(["host", "install", bot, "--from-account", "--password-file", "pw", "--name", "Echo", "--data-dir", data], install), install.err).toBe(
      0,
    );
    expect(install.out).toMatch(new RegExp(`installed echo 1\\.0\\.0 for ${bot} from the account`));
    expect(await installed()).toBe("1.0.0");
    expect(waitingInFolder()).toHaveLength(0);
    expect(readFileSync(join(data, "bots", bot, "password"), "utf8")).toBe("echo-bot-password");

    // 2. The host service runs; the author deploys 1.1.0 and the service's watcher installs it.
    serve = spawnServe(data, ["--no-lmtp"], (event) => lines.push(event));
    await serve.started();
    setVersion("1.1.0");
    expect(await runCli(["build", "echo"], captureIo(work))).toBe(0);
    expect((await deploy()).version).toBe("1.1.0");
    const deployed = await until(() => lines.find((l) => l.event === "install.deployed"), `install.deployed (log: ${JSON.stringify(lines.slice(-5))})`, 30_000);
    expect(deployed).toMatchObject({ bot, version: "1.1.0", author: "Your Name <you@example.org>", upgrade: true });
    expect(await installed()).toBe("1.1.0");
    // The watcher logs the install, then removes the deploy from the folder (one more IMAP command).
    await until(() => waitingInFolder().length === 0, `the deploy to leave ChatbotInstall (still there: ${JSON.stringify(waitingInFolder())})`, 10_000);

    // 3. The login itself is the refresh. The first one (host install --from-account) logged
    // account.refreshed (once a day per bot); the service logs in at every poll and records it;
    // Dovecot saw the host's logins (STARTTLS; the author's deploys came in plain).
    expect(install.err).toMatch(/"event":"account\.refreshed","bot":"echobot01@chat\.test"/);
    const account = JSON.parse(readFileSync(join(data, "bots", bot, "account.json"), "utf8")) as { lastLoginAt: number };
    expect(account.lastLoginAt).toBeGreaterThan(Date.parse(String(lines[0]!.at)) - 1);
    expect(lines.filter((l) => l.event === "account.error")).toEqual([]);
    const logins = (await relay.readLog("dovecot")).split("\n").filter((l) => l.includes("imap-login: Info: Login:") && l.includes(`user=<${bot}>`));
    expect(logins.filter((l) => l.includes("TLS")).length, logins.join("\n")).toBeGreaterThanOrEqual(2);

    // 4. The operator rolls back: the first version is installed again.
    await serve.stop();
    serve = undefined;
    const rollback = captureIo(work);
    expect(await runCli(["host", "install", bot, "--rollback", "--data-dir", data], rollback)).toBe(0);
    expect(rollback.out).toMatch(/rolled back .* to echo 1\.0\.0/);
    expect(await installed()).toBe("1.0.0");
  });
});
