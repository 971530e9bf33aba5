// An author's controls over an installed bot: pause takes it off the routes (its mail goes to its
// mailbox) and leaves it installed, resume puts it back, remove keeps its folder under removed/.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isPaused, pauseBot, removeBot, resumeBot } from "../../../host/service/author-controls.js";
import { hostPaths, installedBotAddresses, isInstalledBot, isRoutedBot, routedBotAddresses } from "../../../host/service/paths.js";
import { plannedTransportMap } from "../../../host/service/transport-map.js";
import { REMOVED_COPIES_PER_BOT } from "../../../core/limits.js";
import { T0 } from "../../support/fake-clock.js";

const A = "alpha@chat.test";
const B = "beta@chat.test";
const NEXTHOP = "lmtp:unix:chatbot/lmtp.sock";

/** No host-kept table: the controls' sync answers undefined and runs no postmap. */
const config = { transportMap: undefined, transportNexthop: undefined, lmtpSocket: "/var/spool/postfix/chatbot/lmtp.sock", postfixConfigDir: undefined };

/** A data dir with `bots` installed (bot.json as host install writes it). */
function dataDirWith(bots: string[]): string {
  const dataDir = mkdtempSync(join(tmpdir(), "author-controls-"));
  for (const addr of bots) {
    const paths = hostPaths(dataDir).bot(addr);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.config, JSON.stringify({ name: addr, enabled: true, approvedOrigins: [], installedAt: T0 }));
    writeFileSync(paths.password, "bot-account-password");
  }
  return dataDir;
}

/** The table the host would write for `dataDir` (plannedTransportMap never touches the file). */
async function table(dataDir: string) {
  return plannedTransportMap(dataDir, { ...config, transportMap: join(dataDir, "transport") });
}

describe("author controls", () => {
  it("a paused bot stays installed but leaves the routes and the planned transport table", async () => {
    const dataDir = dataDirWith([A, B]);
    expect(await pauseBot(dataDir, config, A, T0)).toBeUndefined();
    expect(isPaused(dataDir, A)).toBe(true);
    expect(JSON.parse(readFileSync(hostPaths(dataDir).bot(A).paused, "utf8"))).toEqual({ at: T0, by: "author" });
    expect(await installedBotAddresses(dataDir)).toEqual([A, B]);
    expect(isInstalledBot(dataDir, A)).toBe(true);
    expect(await routedBotAddresses(dataDir)).toEqual([B]);
    expect(isRoutedBot(dataDir, A)).toBe(false);
    expect(isRoutedBot(dataDir, B)).toBe(true);
    const planned = await table(dataDir);
    expect(planned?.bots).toEqual([B]);
    expect(planned?.text).toBe(`# Written by chatbot host (one line per installed bot); edits are overwritten.\n${B}\t${NEXTHOP}\n`);
    expect(existsSync(join(dataDir, "transport"))).toBe(false);
  });

  it("resume puts a paused bot back on the routes and in the table; resuming one not paused changes nothing", async () => {
    const dataDir = dataDirWith([A, B]);
    await pauseBot(dataDir, config, A, T0);
    expect(await resumeBot(dataDir, config, A)).toBeUndefined();
    expect(isPaused(dataDir, A)).toBe(false);
    expect(isRoutedBot(dataDir, A)).toBe(true);
    expect(await routedBotAddresses(dataDir)).toEqual([A, B]);
    expect((await table(dataDir))?.bots).toEqual([A, B]);
    await resumeBot(dataDir, config, B);
    expect(await routedBotAddresses(dataDir)).toEqual([A, B]);
  });

  it("pausing twice keeps the first pause's time", async () => {
    const dataDir = dataDirWith([A]);
    await pauseBot(dataDir, config, A, T0);
    await pauseBot(dataDir, config, A, T0 + 60_000);
    expect(JSON.parse(readFileSync(hostPaths(dataDir).bot(A).paused, "utf8"))).toEqual({ at: T0, by: "author" });
  });

  it("remove moves the bot's folder to removed/ADDR.TIME with everything in it, and the table loses it", async () => {
    const dataDir = dataDirWith([A, B]);
    await pauseBot(dataDir, config, A, T0);
    const { kept, sync } = await removeBot(dataDir, config, A, new Date(T0));
    expect(sync).toBeUndefined();
    expect(kept).toBe(join(dataDir, "removed", `${A}.2025-01-01T10-00-00-000Z`));
    expect(readdirSync(kept).sort()).toEqual(["bot.json", "password", "paused.json"]);
    expect(existsSync(hostPaths(dataDir).bot(A).dir)).toBe(false);
    expect(await installedBotAddresses(dataDir)).toEqual([B]);
    expect(isInstalledBot(dataDir, A)).toBe(false);
    expect((await table(dataDir))?.bots).toEqual([B]);
  });

  it("a deploy → remove loop keeps only the newest REMOVED_COPIES_PER_BOT copies of that address, and no other address's", async () => {
    const dataDir = dataDirWith([A, B]);
    await removeBot(dataDir, config, B, new Date(T0));
    for (let i = 1; i <= REMOVED_COPIES_PER_BOT + 3; i++) {
      mkdirSync(hostPaths(dataDir).bot(A).dir, { recursive: true });
      writeFileSync(hostPaths(dataDir).bot(A).config, "{}");
      await removeBot(dataDir, config, A, new Date(T0 + i * 1_000));
    }
    const newest = Array.from({ length: REMOVED_COPIES_PER_BOT }, (_, k) => `${A}.2025-01-01T10-00-0${REMOVED_COPIES_PER_BOT + 3 - k}-000Z`).reverse();
    expect(readdirSync(join(dataDir, "removed")).sort()).toEqual([...newest, `${B}.2025-01-01T10-00-00-000Z`].sort());
  });

  it("a bot removed, installed again and removed again keeps both folders", async () => {
    const dataDir = dataDirWith([A]);
    await removeBot(dataDir, config, A, new Date(T0));
    mkdirSync(hostPaths(dataDir).bot(A).dir, { recursive: true });
    writeFileSync(hostPaths(dataDir).bot(A).config, JSON.stringify({ name: A, enabled: true, approvedOrigins: [], installedAt: T0 + 1 }));
    await removeBot(dataDir, config, A, new Date(T0 + 1_000));
    expect(readdirSync(join(dataDir, "removed")).sort()).toEqual([`${A}.2025-01-01T10-00-00-000Z`, `${A}.2025-01-01T10-00-01-000Z`]);
  });
});
