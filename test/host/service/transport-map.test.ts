// The Postfix transport table the host keeps (host.json transportMap): one line per installed bot,
// rebuilt with the real postmap only when it changed, and its .db answers Postfix's lookups.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostPaths } from "../../../host/service/paths.js";
import { syncTransportMap, transportMapText, transportNexthop } from "../../../host/service/transport-map.js";
import { relayAvailable } from "../../support/relay.js";

/** A data dir with `bots` installed (a bot.json each is what makes a folder a bot). */
function dataDirWith(bots: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "transport-map-"));
  for (const bot of bots) {
    mkdirSync(hostPaths(dir).bot(bot).dir, { recursive: true });
    writeFileSync(hostPaths(dir).bot(bot).config, "{}");
  }
  return dir;
}

const POSTFIX_CONFIG = mkdtempSync(join(tmpdir(), "transport-map-lookup-"));
writeFileSync(join(POSTFIX_CONFIG, "main.cf"), "");

/** What Postfix's lookup of `key` in the hash table `file` answers (postmap -q), undefined when not found. */
function lookup(file: string, key: string): string | undefined {
  try {
    return execFileSync("postmap", ["-c", POSTFIX_CONFIG, "-q", key, `hash:${file}`], { encoding: "utf8" }).trim();
  } catch {
    return undefined;
  }
}

describe("transport table text", () => {
  it("sends bot mail to the LMTP socket, named relative to Postfix's queue directory when it is inside it", () => {
    expect(transportNexthop({ lmtpSocket: "/var/spool/postfix/chatbot/lmtp.sock", transportNexthop: undefined })).toBe("lmtp:unix:chatbot/lmtp.sock");
    expect(transportNexthop({ lmtpSocket: "/run/chatbot/lmtp.sock", transportNexthop: undefined })).toBe("lmtp:unix:/run/chatbot/lmtp.sock");
    expect(transportNexthop({ lmtpSocket: "/run/chatbot/lmtp.sock", transportNexthop: "chatbot:" })).toBe("chatbot:");
  });

  it("one sorted line per bot under a header; no bots is the header alone", () => {
    expect(transportMapText(["b@chat.test", "a@chat.test"], "lmtp:unix:x")).toBe(
      "# Written by chatbot host (one line per installed bot); edits are overwritten.\na@chat.test\tlmtp:unix:x\nb@chat.test\tlmtp:unix:x\n",
    );
    expect(transportMapText([], "lmtp:unix:x").split("\n")).toHaveLength(2);
  });

  it("refuses a folder name that is not an address: a line can never become two, or carry a second field", () => {
    expect(() => transportMapText(["a@chat.test\nevil@chat.test smtp:[attacker.example]"], "lmtp:unix:x")).toThrow(/not a bot address/);
    expect(() => transportMapText(["a@chat.test smtp:x"], "lmtp:unix:x")).toThrow(/not a bot address/);
  });
});

describe.skipIf(!relayAvailable())("syncTransportMap with the real postmap", () => {
  // postmap reads Postfix's main.cf first; this machine's Postfix has none in /etc/postfix (the test relay has its own).
  const postfixConfigDir = mkdtempSync(join(tmpdir(), "transport-map-postfix-"));
  writeFileSync(join(postfixConfigDir, "main.cf"), "");
  const config = (file: string | undefined) => ({
    transportMap: file,
    transportNexthop: undefined,
    lmtpSocket: "/var/spool/postfix/chatbot/lmtp.sock",
    postfixConfigDir,
  });

  it("does nothing without host.json transportMap", async () => {
    expect(await syncTransportMap(dataDirWith(["a@chat.test"]), config(undefined))).toBeUndefined();
  });

  it("writes the table (0644) and its .db; Postfix's lookup finds each bot; unchanged bots leave it alone; a removed bot is gone from it", async () => {
    const data = dataDirWith(["echo@chat.test", "poll@chat.test"]);
    const folder = mkdtempSync(join(tmpdir(), "transport-map-table-"));
    const file = join(folder, "transport");
    try {
      const both = transportMapText(["echo@chat.test", "poll@chat.test"], "lmtp:unix:chatbot/lmtp.sock");
      expect(await syncTransportMap(data, config(file))).toEqual({ file, bots: 2, text: both, changed: true });
      expect(statSync(file).mode & 0o777).toBe(0o644);
      expect(lookup(file, "echo@chat.test")).toBe("lmtp:unix:chatbot/lmtp.sock");
      expect(lookup(file, "poll@chat.test")).toBe("lmtp:unix:chatbot/lmtp.sock");
      expect(lookup(file, "person@chat.test")).toBeUndefined();

      const dbTime = statSync(`${file}.db`).mtimeMs;
      expect(await syncTransportMap(data, config(file))).toEqual({ file, bots: 2, text: both, changed: false });
      expect(statSync(`${file}.db`).mtimeMs).toBe(dbTime); // not rebuilt: Postfix's daemons keep running

      rmSync(hostPaths(data).bot("poll@chat.test").dir, { recursive: true });
      expect(await syncTransportMap(data, config(file))).toEqual({
        file,
        bots: 1,
        text: transportMapText(["echo@chat.test"], "lmtp:unix:chatbot/lmtp.sock"),
        changed: true,
      });
      expect(lookup(file, "poll@chat.test")).toBeUndefined();
      expect(lookup(file, "echo@chat.test")).toBe("lmtp:unix:chatbot/lmtp.sock");
    } finally {
      rmSync(folder, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    }
  });

  it("a table whose .db is missing is rebuilt even when its text is the same", async () => {
    const data = dataDirWith(["echo@chat.test"]);
    const folder = mkdtempSync(join(tmpdir(), "transport-map-table-"));
    const file = join(folder, "transport");
    await syncTransportMap(data, config(file));
    rmSync(`${file}.db`);
    expect((await syncTransportMap(data, config(file)))?.changed).toBe(true);
    expect(lookup(file, "echo@chat.test")).toBe("lmtp:unix:chatbot/lmtp.sock");
    rmSync(folder, { recursive: true, force: true });
  });

  it("a rebuild that fails is E_CONFIG saying what to check and to run 'chatbot host route'", async () => {
    const data = dataDirWith(["echo@chat.test"]);
    const folder = mkdtempSync(join(tmpdir(), "transport-map-table-"));
    const failing = async () => {
      throw new Error("postmap: fatal: open database: Permission denied");
    };
    await expect(syncTransportMap(data, config(join(folder, "transport")), failing)).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringMatching(/could not be rebuilt \(postmap: fatal: open database: Permission denied\).*chatbot host route/),
    });
    await expect(syncTransportMap(data, config(join(folder, "missing-folder", "transport")))).rejects.toMatchObject({ code: "E_CONFIG" });
    // postmap's own reason reaches the message (here: no main.cf in the config folder given).
    await expect(syncTransportMap(data, { ...config(join(folder, "transport")), postfixConfigDir: folder })).rejects.toMatchObject({
      message: expect.stringMatching(/could not be rebuilt \(postmap: fatal: open .*main\.cf/),
    });
    rmSync(folder, { recursive: true, force: true });
  });
});
