// The pipeline's loaded bots stay bounded (bot-registry.ts, core/limits.ts LOADED_BOTS): a host
// service with room for one loaded bot runs mail for three, round after round. Every mail is
// answered, each bot's state counts all its runs across its evictions, and a mail that comes
// again after its bot was evicted is still known as seen (the stores were written, then read anew).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import { loadHostConfig } from "../../../host/service/host-config.js";
import type { HostEvent } from "../../../host/service/host-event.js";
import { HostService } from "../../../host/service/host-service.js";
import { hostPaths } from "../../../host/service/paths.js";
import { Spool } from "../../../host/spool/spool.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import type { PublicKey } from "openpgp";
import { COUNTER_BOT, FakeClock, FakeSmtp, botSettings, botState, initHost, installBot } from "../../support/host-fixture.js";
import { hostLauncher } from "../../support/host-walls.js";
import { newIdentity, userMail } from "../../support/user-mail.js";

const USER = "alice@chat.test";
const BOTS = ["one@chat.test", "two@chat.test", "three@chat.test"];

let executor: Executor;
let alice: BotIdentity;

beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  [alice] = await Promise.all([newIdentity(USER), executor.warmUp()]);
});

afterAll(async () => {
  await executor?.close();
});

describe("loaded bots", () => {
  it("with room for one loaded bot, three bots' mail is all answered, each bot's state counts every run across evictions, and a repeated mail is still known as seen after its bot was evicted", async () => {
    const work = mkdtempSync(join(tmpdir(), "loaded-bots-"));
    const data = await initHost(work);
    for (const addr of BOTS) await installBot(work, data, { addr, source: COUNTER_BOT });
    const clock = new FakeClock((await botSettings(data, BOTS[0]!)).installedAt);
    const config = await loadHostConfig(hostPaths(data).config, data);
    const logs: HostEvent[] = [];
    const smtps = new Map<string, FakeSmtp>();
    const spool = new Spool(hostPaths(data).spool, clock);
    const service = new HostService({
      sleep: async () => {},
      dataDir: data,
      config,
      spool,
      executor,
      clock,
      log: (line) => logs.push(line),
      loadedBots: { maxBots: 1, maxBundleChars: 1e9, idleMs: 3_600_000 },
      submitterFor: (bot) => smtps.get(bot.account.addr) ?? smtps.set(bot.account.addr, new FakeSmtp()).get(bot.account.addr)!,
    });
    const keys = new Map<string, PublicKey>();
    for (const addr of BOTS) keys.set(addr, (await service.bot(addr))!.bot.account.identity.publicKey);
    const mailTo = (addr: string, text: string) =>
      userMail({ from: USER, to: addr, recipientKey: keys.get(addr)!, signer: alice, body: { kind: "text", text }, date: new Date(clock.now()) });

    let firstToOne: Uint8Array | undefined;
    for (let round = 1; round <= 3; round++) {
      // Interleaved: each entry's bot is the one least recently used, so each one evicts the one before.
      for (const addr of BOTS) {
        const mail = await mailTo(addr, `round ${round}`);
        firstToOne ??= mail.raw;
        await spool.write(addr, mail.raw, MAIL_MAX_BYTES);
      }
      await service.drainOnce();
      clock.advance(1_000);
    }
    for (const addr of BOTS) {
      expect(smtps.get(addr)!.accepted, addr).toHaveLength(3);
      expect(await botState(data, addr), addr).toEqual({ runs: 3 });
    }
    const evictions = logs.filter((line) => line.event === "bots.evicted");
    expect(evictions.length).toBeGreaterThanOrEqual(8); // every entry but the first evicted its predecessor
    expect(evictions.every((line) => line.event === "bots.evicted" && line.why === "cap" && line.loaded === 1)).toBe(true);
    expect(service.loadedBots()).toMatchObject({ bots: 1 });

    // The first mail again (a relay's retry): its bot was evicted and loaded anew, and still knows it.
    await spool.write(BOTS[0]!, firstToOne!, MAIL_MAX_BYTES);
    await service.drainOnce();
    expect(smtps.get(BOTS[0]!)!.accepted).toHaveLength(3);
    expect(await botState(data, BOTS[0]!)).toEqual({ runs: 3 });
    expect(logs.filter((line) => line.event === "bot.event")).toHaveLength(9);
    expect(logs.filter((line) => line.event === "service.error")).toEqual([]);
  });
});
