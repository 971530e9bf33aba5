// A bot's state in its own account, against the test relay's real Dovecot: after an event the
// state appears in the account's ChatbotState folder (one message, replaced on each push); with
// the local state.json deleted (a new machine), the next host restores it from the account before
// the bot's next event and the bot goes on counting. The service runs in this process with a FAKE
// clock (hourly ticks without sleeping) and a fake SMTP (the tick counter sends nothing); the
// mirror logs in over IMAP as the bot for real (STARTTLS, self-signed, as on a relay).
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openFolderMailbox } from "../../host/deploy/imap-mailbox.js";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "../support/host-walls.js";
import type { HostEvent } from "../../host/service/host-event.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { STATE_FOLDER, STATE_HEADER, StateMirror } from "../../host/service/state-mirror.js";
import { Spool } from "../../host/spool/spool.js";
import { FakeClock, FakeSmtp, botSettings, botState, initHost, installBot } from "../support/host-fixture.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";

const PASSWORD = "counter-bot-password";
const HOUR = 60 * 60_000;

/** Counts its hourly ticks in state. */
const TICK_COUNTER = `import { defineBot } from "chatbot/std";

export default defineBot({
  async message(msg, bot) {
    await bot.reply(msg.text);
  },
  async tick(bot) {
    await bot.state.set("ticks", ((await bot.state.get<number>("ticks")) ?? 0) + 1);
  },
});
`;

describe.skipIf(!relayAvailable())("bot state mirrored into the bot's account on a real relay", () => {
  let relay: TestRelay;
  let executor: Executor;

  beforeAll(async () => {
    [relay, executor] = await Promise.all([startRelay(), hostLauncher().then((launcher) => new Executor({ launcher }))]);
    await executor.warmUp();
  }, 60_000);

  afterAll(async () => {
    await executor?.close();
    await relay?.stop();
  });

  it("state after an event is in ChatbotState; a deleted state.json comes back from the account and the bot counts on", { timeout: 120_000 }, async () => {
    const bot = `counter@${relay.domain}`;
    const work = mkdtempSync(join(tmpdir(), "state-mirror-e2e-"));
    const data = await initHost(work, {}, ["--smtp-port", String(relay.submissionPort), "--imap-port", String(relay.imapPort), "--imap-security", "starttls"]);
    await installBot(work, data, { addr: bot, source: TICK_COUNTER, manifest: { schedule: "hourly" } }, PASSWORD);
    await relay.addUser(bot, PASSWORD);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const clock = new FakeClock((await botSettings(data, bot)).installedAt);
    const logs: HostEvent[] = [];
    const log = (line: HostEvent) => logs.push(line);
    const openMailbox = (settings: Parameters<typeof openFolderMailbox>[0], user: string, password: string) =>
      openFolderMailbox(settings, user, password, STATE_FOLDER, STATE_HEADER);
    /** A host as `host serve` builds it; a second one is the host after a restart (or on a new machine). */
    const start = () => {
      const mirror = new StateMirror({ dataDir: data, config, clock, log, openMailbox });
      const service = new HostService({
        sleep: async () => {},
        dataDir: data,
        config,
        spool: new Spool(hostPaths(data).spool, clock),
        executor,
        clock,
        log,
        submitterFor: () => new FakeSmtp(),
        mirror,
      });
      return { mirror, service };
    };
    /** Messages in the account's ChatbotState folder as Dovecot keeps them (Maildir++: .ChatbotState). */
    const inFolder = () =>
      ["new", "cur"].flatMap((sub) => {
        const dir = join(relay.maildir(bot), `.${STATE_FOLDER}`, sub);
        return existsSync(dir) ? readdirSync(dir) : [];
      });
    const tick = async (host: ReturnType<typeof start>) => {
      clock.advance(HOUR);
      await host.service.drainOnce();
    };

    // 1. A tick changes the state; the mirror's push puts it into the account.
    const first = start();
    await tick(first);
    expect(await botState(data, bot)).toEqual({ ticks: 1 });
    await first.mirror.flushOnce();
    expect(logs.filter((l) => l.event === "state.mirror-error")).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ event: "state.mirrored", bot, version: 1 }));
    expect(inFolder()).toHaveLength(1);
    expect(await first.mirror.pull(bot)).toEqual({ version: 1, state: { ticks: "1" } });

    // 2. Two more ticks, one push: the folder still holds one message, the newest.
    await tick(first);
    await tick(first);
    await first.service.stop();
    await first.mirror.stop();
    expect(inFolder()).toHaveLength(1);
    expect(await first.mirror.pull(bot)).toEqual({ version: 2, state: { ticks: "3" } });

    // 3. A new machine: no state.json (nor what was pushed); the next host restores before the tick.
    rmSync(join(hostPaths(data).bot(bot).dir, "state.json"));
    rmSync(join(hostPaths(data).bot(bot).dir, "state-mirror.json"));
    const second = start();
    await tick(second);
    expect(logs).toContainEqual({ event: "state.restored", bot, version: 2, keys: 1 });
    expect(await botState(data, bot)).toEqual({ ticks: 4 });
    await second.service.stop();
    await second.mirror.stop();
    expect(await second.mirror.pull(bot)).toEqual({ version: 3, state: { ticks: "4" } });
    expect(inFolder()).toHaveLength(1);
    expect(logs.filter((l) => l.event === "state.mirror-error")).toEqual([]);
  });
});
