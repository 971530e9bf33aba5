// The drain loop writes the per-user and CPU counters (usage.json, cpu-budget.json) at most once
// per POLICY_FLUSH_MS: single mails a few hundred ms apart share one write instead of each costing
// four fsyncs. What must hold: the first mail's counts are written at once, a mail within
// POLICY_FLUSH_MS of that write is counted in memory (where the limits read it) and on disk once
// the time comes, and stopping the loop writes whatever is held back.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { POLICY_FLUSH_MS } from "../../../core/limits.js";
import { Executor } from "../../../host/executor/executor.js";
import { hostPaths } from "../../../host/service/paths.js";
import type { BotIdentity } from "../../../host/wire/pgp/identity.js";
import { until } from "../../support/poll.js";
import { serviceHost } from "../../support/service-host.js";
import { newIdentity } from "../../support/user-mail.js";

const USER = "alice@chat.test";
let alice: BotIdentity;
let executor: Executor;
beforeAll(async () => {
  alice = await newIdentity(USER);
  executor = new Executor();
});
afterAll(() => executor.close());

/** Mails of USER counted in the bot's usage.json on disk (its hourly mail buckets), 0 without the file. */
function mailsOnDisk(data: string, addr: string): number {
  let file: { users: Record<string, { usage: { mailsPerHour?: Array<[number, number]> } }> };
  try {
    file = JSON.parse(readFileSync(join(hostPaths(data).bot(addr).dir, "usage.json"), "utf8"));
  } catch {
    return 0;
  }
  return (file.users[USER]?.usage.mailsPerHour ?? []).reduce((sum, [, amount]) => sum + amount, 0);
}

it("the loop writes the counters at once, then holds a mail's back until POLICY_FLUSH_MS after that write, and writes them on stop", async () => {
  const host = await serviceHost({ executor, sender: { addr: USER, identity: alice } });
  const onDisk = () => mailsOnDisk(host.data, host.addr);
  host.service.start(60_000);
  try {
    await host.deliver("one");
    host.service.poke();
    await until(() => host.smtp.accepted.length === 1 && onDisk() === 1, "the first mail answered and counted on disk", 30_000);

    // Within POLICY_FLUSH_MS of that write (the fake clock stands still): answered, counted in memory only.
    await host.deliver("two");
    host.service.poke();
    await until(() => host.smtp.accepted.length === 2, "the second mail answered", 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(onDisk()).toBe(1);

    // Its time comes: written without another mail.
    host.clock.advance(POLICY_FLUSH_MS);
    host.service.poke();
    await until(() => onDisk() === 2, "the held-back count written once POLICY_FLUSH_MS passed", 10_000);

    // Held back again, then the loop stops (a rest, SIGTERM): written on the way out.
    await host.deliver("three");
    host.service.poke();
    await until(() => host.smtp.accepted.length === 3, "the third mail answered", 30_000);
    expect(onDisk()).toBe(2);
  } finally {
    await host.service.stop();
  }
  expect(onDisk()).toBe(3);
});
