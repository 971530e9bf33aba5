// The watcher's poll after a restart, when every bot is due at once: logins are spaced at
// DEPLOY_LOGINS_PER_SECOND (real time), and a bot already looked at is not read again until its
// next due time (the next look logs in nowhere), also after a restart (watch-index.json).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEPLOY_LOGINS_PER_SECOND } from "../../../core/limits.js";
import { DeployWatcher } from "../../../host/service/deploy-watcher.js";
import { parseHostConfig } from "../../../host/service/host-config.js";
import { hostPaths } from "../../../host/service/paths.js";
import { fakeDeployRelay } from "../../support/fake-deploy-relay.js";

const BOTS = ["a@chat.test", "b@chat.test", "c@chat.test"];

describe("deploy watcher poll pace", () => {
  it(`logs in at most ${DEPLOY_LOGINS_PER_SECOND} times a second when every bot is due; the next look logs in nowhere`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "watcher-pace-"));
    const passwords: Record<string, string> = {};
    for (const addr of BOTS) {
      const paths = hostPaths(dataDir).bot(addr);
      mkdirSync(paths.dir, { recursive: true });
      writeFileSync(paths.config, JSON.stringify({ name: addr, enabled: true, approvedOrigins: [], installedAt: 0 }));
      passwords[addr] = `${addr}-password`;
      writeFileSync(paths.password, passwords[addr]!);
    }
    const relay = fakeDeployRelay(passwords);
    const times: number[] = [];
    const watcher = new DeployWatcher({
      dataDir,
      config: parseHostConfig({}, "host.json"),
      clock: { now: () => 1_000_000 },
      log: () => {},
      openMailbox: async (settings, user, password) => {
        times.push(Date.now());
        return relay.open(settings, user, password);
      },
    });
    await watcher.checkDue();
    expect(relay.logins).toEqual(BOTS);
    // Login starts are spaced 1000 / DEPLOY_LOGINS_PER_SECOND ms apart; each reaches openMailbox a
    // little later (a file read or two), so the span is checked, with 100 ms for the first one's delay.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((BOTS.length - 1) * (1000 / DEPLOY_LOGINS_PER_SECOND) - 100);
    await watcher.checkDue();
    expect(relay.logins).toEqual(BOTS);

    // A restart: the new watcher takes the due times from watch-index.json, without reading each
    // bot's account.json (removed here: read, it would make every bot due again).
    for (const addr of BOTS) rmSync(join(hostPaths(dataDir).bot(addr).dir, "account.json"), { force: true });
    const restarted = new DeployWatcher({
      dataDir,
      config: parseHostConfig({}, "host.json"),
      clock: { now: () => 1_000_000 },
      log: () => {},
      openMailbox: relay.open,
    });
    await restarted.checkDue();
    expect(relay.logins).toEqual(BOTS);
  });
});
