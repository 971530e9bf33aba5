// kill -9 of the host service during a burst of 200 mails: after a restart, every mail is answered
// exactly once, as the real Delta Chat client sees it (a reply sent twice would have to carry the
// same Message-ID, which the client drops; a lost mail would leave a gap).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { initRelayHost } from "../support/relay-host-init.js";
import { until } from "../support/poll.js";
import { spawnServe, type ServeProcess } from "../support/serve-process.js";

const BURST = 200;

describe.skipIf(!relayAvailable())("host service crash safety with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let work: string;
  let data: string;
  let serve: ServeProcess | undefined;
  let handled = 0;

  /** Start `chatbot host serve` as its own process, counting the events it runs (bot.event) across restarts. */
  function startServe(): ServeProcess {
    return spawnServe(data, [], (event) => {
      if (event.event === "bot.event") handled += 1;
    });
  }

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    // One user sends 200 mails in a minute: above the seed's 60/hour, so the operator raises it.
    // The test relay has no send-rate filter, so the host's pacing (50/min for a real relay) is lifted too.
    // IMAP as on a relay: the service logs in as the bot for its state copy (state-mirror.ts).
    let socket: string;
    ({ work, data, socket } = await initRelayHost(relay, "host-crash-", {
      ceilings: { perUser: { mailsPerHour: 1000, mailsPerDay: 1000 } },
      pacing: { sendsPerMinute: 1_000_000, sendBurst: 1000 },
    }));
    const io = captureIo(work);
    expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
    expect(await runCli(["build", "echo"], io)).toBe(0);
    writeFileSync(join(work, "pw"), "echo-bot-password");
    await relay.addUser(`echobot01@${relay.domain}`, "echo-bot-password");
    expect(await runCli(["host", "install", `echobot01@${relay.domain}`, "echo", "--password-file", "pw", "--name", "Echo", "--data-dir", data], io)).toBe(0);
    serve = startServe();
    await serve.started();
    await relay.routeToLmtp(`echobot01@${relay.domain}`, socket);
  });

  afterAll(async () => {
    serve?.child.kill("SIGKILL");
    await dc?.close();
    await relay?.stop();
  });

  it(`kill -9 during a burst of ${BURST} mails: after a restart every mail is answered exactly once`, { timeout: 240_000 }, async () => {
    const qr = captureIo(work);
    await runCli(["host", "qr", `echobot01@${relay.domain}`, "--json", "--data-dir", data], qr);
    const { link } = JSON.parse(qr.out) as { link: string };
    const alice = await dc.createAccount(relay, "Alice", `alice@${relay.domain}`, "alice-password");
    const chatId = await dc.joinByQr(alice, link, 60_000);
    const [botContact] = await dc.rpc.getChatContacts(alice, chatId);

    const echoes = async () => {
      const ids = await dc.rpc.getMessageIds(alice, chatId, false, false);
      const messages = Object.values(await dc.rpc.getMessages(alice, ids));
      return messages
        .filter((m) => m.kind === "message" && m.fromId === botContact && m.text.startsWith("echo: burst "))
        .map((m) => (m as { text: string }).text);
    };

    for (let i = 1; i <= BURST; i++) await dc.rpc.miscSendTextMessage(alice, chatId, `burst ${i}`);
    // Let the host get well into the burst, then kill it without warning.
    await until(() => handled >= 40, "40 events handled before the kill", 120_000);
    serve!.child.kill("SIGKILL");
    const killedAfter = handled;
    await new Promise((r) => setTimeout(r, 500));
    serve = startServe();
    await serve.started();
    // While the host was down Postfix could not reach the socket and deferred those mails; it retries
    // them after its queue-run delay (minutes). An operator would flush the queue; so does the test.
    const flusher = setInterval(() => void relay.flushQueue(), 3000);

    try {
      // The chat's message count first (ids only, cheap): the whole chat (up to 400 messages) is
      // loaded only once the count says every echo may be there. Loading it on every look kept the
      // core busy reading while it should be receiving (at 50 ms; at 500 ms it still cost CPU-seconds).
      await until(
        async () => (await dc.rpc.getMessageIds(alice, chatId, false, false)).length >= 2 * BURST && (await echoes()).length >= BURST,
        `${BURST} echoes`,
        120_000,
        250,
      );
    } catch (error) {
      const { readdirSync } = await import("node:fs");
      const log = readFileSync(join(data, "logs", "host.jsonl"), "utf8")
        .trim()
        .split("\n");
      const events = log.map((l) => JSON.parse(l) as { event: string; status?: string; reason?: string });
      const kinds = new Map<string, number>();
      for (const e of events) kinds.set(`${e.event}${e.status ? `:${e.status}` : ""}`, (kinds.get(`${e.event}${e.status ? `:${e.status}` : ""}`) ?? 0) + 1);
      const spool = readdirSync(join(data, "spool", "new")).length;
      const dead = readdirSync(join(data, "spool", "dead")).length;
      clearInterval(flusher);
      throw new Error(
        `${String(error)}; echoes ${(await echoes()).length}, handled ${handled}, killed after ${killedAfter}; spool ${spool} files, dead ${dead}; log ${JSON.stringify([...kinds])}; last ${log.slice(-3).join(" | ")}; stderr ${serve!.stderr().slice(-500)}`,
      );
    }
    clearInterval(flusher);
    await new Promise((r) => setTimeout(r, 2000)); // a duplicate would arrive right behind
    const texts = await echoes();
    const counts = new Map<string, number>();
    for (const text of texts) counts.set(text, (counts.get(text) ?? 0) + 1);
    const missing = Array.from({ length: BURST }, (_, i) => `echo: burst ${i + 1}`).filter((t) => !counts.has(t));
    const doubled = [...counts].filter(([, n]) => n > 1).map(([t]) => t);
    expect({ missing, doubled, total: texts.length }).toEqual({ missing: [], doubled: [], total: BURST });
    expect(killedAfter).toBeLessThan(BURST); // the kill really happened mid-burst
    const messages = Object.values(await dc.rpc.getMessages(alice, await dc.rpc.getMessageIds(alice, chatId, false, false)));
    expect(messages.filter((m) => m.kind === "message" && m.fromId === botContact).every((m) => (m as { showPadlock: boolean }).showPadlock)).toBe(true);
  });
});
