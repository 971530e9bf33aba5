// The relay's quotas for unattended bots (issue 13, part 4; host.json `quotas`): an install over
// the bots on the host, over a bot's disk or over its deploys a day is refused with E_QUOTA and a
// sentence naming the quota, its numbers and what to do; nothing of the refused install is written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";

/** A host whose host.json has `quotas`, with the echo template built in ./echo and a password file. */
async function hostWithQuotas(quotas: Record<string, number>) {
  const work = mkdtempSync(join(tmpdir(), "host-quotas-"));
  const data = join(work, "data");
  const io = captureIo(work);
  expect(await runCli(["host", "init", "--data-dir", data], io)).toBe(0);
  expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
  expect(await runCli(["build", "echo"], io)).toBe(0);
  writeFileSync(join(work, "pw"), "a-good-password\n");
  const hostJson = join(data, "host.json");
  writeFileSync(hostJson, JSON.stringify({ ...JSON.parse(readFileSync(hostJson, "utf8")), quotas }));
  const install = async (addr: string) => {
    const out = captureIo(work);
    const code = await runCli(["host", "install", addr, "echo", "--password-file", "pw", "--data-dir", data], out);
    return { code, err: out.err };
  };
  return { data, install };
}

describe("relay quotas for unattended bots", () => {
  it("maxBots: a new bot over the host's most is refused; an upgrade of an installed one is not", async () => {
    const { data, install } = await hostWithQuotas({ maxBots: 1 });
    expect((await install("first@chat.test")).code).toBe(0);
    const refused = await install("second@chat.test");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/this relay hosts 1 bots, its most \(quotas\.maxBots 1\): second@chat\.test cannot be installed; ask the relay's operator/);
    expect(existsSync(join(data, "bots", "second@chat.test", "bot.json"))).toBe(false);
    expect((await install("first@chat.test")).code).toBe(0);
  });

  it("deploysPerDay: the install after the day's last allowed one is refused with when to try again", async () => {
    const { install } = await hostWithQuotas({ deploysPerDay: 2 });
    expect((await install("busy@chat.test")).code).toBe(0);
    expect((await install("busy@chat.test")).code).toBe(0);
    const refused = await install("busy@chat.test");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(
      /busy@chat\.test was installed 2 times in the last 24 hours, the most this relay allows \(quotas\.deploysPerDay 2\); deploy again after \d{4}-\d\d-\d\dT/,
    );
  });

  it("deploysPerDay: removing the bot between installs does not reset the day's count (the history lives outside its folder)", async () => {
    const { data, install } = await hostWithQuotas({ deploysPerDay: 2 });
    const remove = async () => expect(await runCli(["host", "remove", "loop@chat.test", "--data-dir", data], captureIo(data))).toBe(0);
    expect((await install("loop@chat.test")).code).toBe(0);
    await remove();
    expect((await install("loop@chat.test")).code).toBe(0);
    await remove();
    const refused = await install("loop@chat.test");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/loop@chat\.test was installed 2 times in the last 24 hours/);
    expect(JSON.parse(readFileSync(join(data, "deploys", "loop@chat.test.json"), "utf8"))).toHaveLength(2);
  });

  it("deploysPerDay: a day's count kept in the bot's folder by an older host still counts, and moves out on the next install", async () => {
    const { data, install } = await hostWithQuotas({ deploysPerDay: 2 });
    expect((await install("old@chat.test")).code).toBe(0);
    const moved = join(data, "deploys", "old@chat.test.json");
    writeFileSync(join(data, "bots", "old@chat.test", "deploys.json"), readFileSync(moved));
    rmSync(moved);
    expect((await install("old@chat.test")).code).toBe(0);
    expect(existsSync(join(data, "bots", "old@chat.test", "deploys.json"))).toBe(false);
    expect((await install("old@chat.test")).err).toMatch(/old@chat\.test was installed 2 times/);
  });

  it("botDiskBytes: an install that would take the bot's folder over its quota is refused with the bytes; at the quota it passes", async () => {
    const probe = await hostWithQuotas({ botDiskBytes: 1 });
    const refused = await probe.install("big@chat.test");
    expect(refused.code).not.toBe(0);
    const needed = Number(/would use (\d+) bytes/.exec(refused.err)?.[1]);
    expect(refused.err).toMatch(/over quotas\.botDiskBytes 1; deploy a smaller bundle or keep less state/);
    expect(needed).toBeGreaterThan(1000);
    // A fresh bot needs exactly the bundle's bytes: at that quota it installs, one byte less it does not.
    const atQuota = await hostWithQuotas({ botDiskBytes: needed });
    expect((await atQuota.install("big@chat.test")).code).toBe(0);
    const underQuota = await hostWithQuotas({ botDiskBytes: needed - 1 });
    expect((await underQuota.install("big@chat.test")).err).toMatch(new RegExp(`would use ${needed} bytes`));
  });

  it("a quota that is not a whole number is refused in host.json with its path", async () => {
    const { install } = await hostWithQuotas({ maxBots: -1 });
    expect((await install("x@chat.test")).err).toMatch(/"quotas\.maxBots" must be a whole number ≥ 0/);
  });
});
