// The pipeline's loaded bots stay bounded (bot-registry.ts, core/limits.ts LOADED_BOTS): a host
// service with room for one loaded bot runs mail for three, round after round. Every mail is
// answered, each bot's state counts all its runs across its evictions, and a mail that comes
// again after its bot was evicted is still known as seen (the stores were written, then read anew).
import { describe, expect, it } from "vitest";
import { MAIL_MAX_BYTES } from "../../../core/limits.js";
import { COUNTER_BOT, botState } from "../../support/host-fixture.js";
import { sandboxAndSender } from "../../support/sandbox-and-sender.js";
import { serviceHost } from "../../support/service-host.js";

const USER = "alice@chat.test";
const BOTS = ["one@chat.test", "two@chat.test", "three@chat.test"];
const sandbox = sandboxAndSender(USER);

describe("loaded bots", () => {
  it("with room for one loaded bot, three bots' mail is all answered, each bot's state counts every run across evictions, and a repeated mail is still known as seen after its bot was evicted", async () => {
    const { data, clock, logs, spool, service, mail, smtpOf } = await serviceHost({
      executor: sandbox.executor,
      sender: { addr: USER, identity: sandbox.sender },
      addr: BOTS[0]!,
      moreAddrs: BOTS.slice(1),
      source: COUNTER_BOT,
      loadedBots: { maxBots: 1, maxBundleChars: 1e9, idleMs: 3_600_000 },
    });

    let firstToOne: Uint8Array | undefined;
    for (let round = 1; round <= 3; round++) {
      // Interleaved: each entry's bot is the one least recently used, so each one evicts the one before.
      // One drain per mail: a pass ends with its submits (and their leases), so no entry still holds
      // the bot before it when it loads its own, and the cap of one holds at every eviction.
      for (const addr of BOTS) {
        const { raw } = await mail(`round ${round}`, addr);
        firstToOne ??= raw;
        await spool.write(addr, raw, MAIL_MAX_BYTES);
        await service.drainOnce();
      }
      clock.advance(1_000);
    }
    for (const addr of BOTS) {
      expect(smtpOf(addr).accepted, addr).toHaveLength(3);
      expect(await botState(data, addr), addr).toEqual({ runs: 3 });
    }
    const evictions = logs.filter((line) => line.event === "bots.evicted");
    expect(evictions.length).toBeGreaterThanOrEqual(8); // every entry but the first evicted its predecessor
    expect(evictions.every((line) => line.event === "bots.evicted" && line.why === "cap" && line.loaded === 1)).toBe(true);
    expect(service.loadedBots()).toMatchObject({ bots: 1 });

    // The first mail again (a relay's retry): its bot was evicted and loaded anew, and still knows it.
    await spool.write(BOTS[0]!, firstToOne!, MAIL_MAX_BYTES);
    await service.drainOnce();
    expect(smtpOf(BOTS[0]!).accepted).toHaveLength(3);
    expect(await botState(data, BOTS[0]!)).toEqual({ runs: 3 });
    expect(logs.filter((line) => line.event === "bot.event")).toHaveLength(9);
    expect(logs.filter((line) => line.event === "service.error")).toEqual([]);
  });
});
