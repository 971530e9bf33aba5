// `host serve` at rest (issue 15 part 5): its pipeline process exits after host.json
// pipelineRestSeconds with nothing to do, only the door stays, and the next mail from a real Delta
// Chat client through the real relay starts it again and is answered. A pipeline that dies is
// started again; a door killed with -9 leaves no pipeline behind.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "../support/cli-io.js";
import { startDeltaChat, type DeltaChatDriver } from "../support/deltachat-client.js";
import { relayAvailable, startRelay, type TestRelay } from "../support/relay.js";
import { initRelayHost } from "../support/relay-host-init.js";
import { until } from "../support/poll.js";
import { spawnServe, type ServeEvent, type ServeProcess } from "../support/serve-process.js";

/** The process's children's pids (/proc/PID/task/PID/children). */
function childrenOf(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));

describe.skipIf(!relayAvailable())("host serve rests between mails (pipeline process), with a real Delta Chat client", () => {
  let relay: TestRelay;
  let dc: DeltaChatDriver;
  let work: string;
  let data: string;
  let serve: ServeProcess;
  let alice: number;
  let chatId: number;
  let botContact: number;
  const bot = () => `restbot01@${relay.domain}`;

  beforeAll(async () => {
    [relay, dc] = await Promise.all([startRelay(), startDeltaChat()]);
    let socket: string;
    ({ work, data, socket } = await initRelayHost(relay, "pipeline-rest-", { pipelineRestSeconds: 2 }));
    const io = captureIo(work);
    expect(await runCli(["new", "echo", "--name", "echo"], io)).toBe(0);
    expect(await runCli(["build", "echo"], io)).toBe(0);
    writeFileSync(join(work, "pw"), "rest-bot-password");
    await relay.addUser(bot(), "rest-bot-password");
    expect(await runCli(["host", "install", bot(), "echo", "--password-file", "pw", "--name", "Echo", "--data-dir", data], io)).toBe(0);
    serve = spawnServe(data);
    await serve.started();
    await relay.routeToLmtp(bot(), socket);
    const qr = captureIo(work);
    await runCli(["host", "qr", bot(), "--json", "--data-dir", data], qr);
    const { link } = JSON.parse(qr.out) as { link: string };
    alice = await dc.createAccount(relay, "Alice", `alice@${relay.domain}`, "alice-password");
    chatId = await dc.joinByQr(alice, link, 60_000);
    botContact = (await dc.rpc.getChatContacts(alice, chatId))[0]!;
  }, 180_000);

  afterAll(async () => {
    serve?.child.kill("SIGKILL");
    await dc?.close();
    await relay?.stop();
  });

  /** Send `text` and wait for the bot's echo of it. */
  async function echo(text: string): Promise<void> {
    await dc.rpc.miscSendTextMessage(alice, chatId, text);
    await until(
      async () => {
        const ids = await dc.rpc.getMessageIds(alice, chatId, false, false);
        const messages = Object.values(await dc.rpc.getMessages(alice, ids));
        return messages.some((m) => m.kind === "message" && m.fromId === botContact && m.text === `echo: ${text}`);
      },
      `the echo of ${JSON.stringify(text)}`,
      60_000,
    );
  }

  const eventsNamed = (name: string) => serve.events.filter((e): e is ServeEvent => e.event === name);

  it("rests with nothing to do: only the door is left, and the next mail starts the pipeline and is answered", { timeout: 120_000 }, async () => {
    await echo("before the rest");
    await until(() => eventsNamed("pipeline.rested").length > 0, "the pipeline to rest", 60_000);
    const rested = eventsNamed("pipeline.rested").at(-1)!;
    expect(rested.nextDueAt).not.toBeUndefined(); // null, or the daily login's time
    await until(() => !alive(rested.pid as number), "the rested pipeline to be gone", 10_000);
    expect(childrenOf(serve.child.pid!)).toEqual([]); // no pipeline, no runner: the door alone
    const startsBefore = eventsNamed("pipeline.started").length;
    await echo("after the rest");
    const woken = eventsNamed("pipeline.started").slice(startsBefore);
    expect(woken.map((e) => e.why)).toContain("poke");
    // Its events are the door's log lines, as before the split.
    expect(serve.events.some((e) => e.event === "bot.event" && e.bot === bot())).toBe(true);
  });

  it("a pipeline that dies is started again and the mail is answered", { timeout: 120_000 }, async () => {
    await echo("wake it");
    const running = eventsNamed("pipeline.started").at(-1)!;
    expect(alive(running.pid as number)).toBe(true);
    // The door starts the bundled pipeline (lib/host/pipeline.mjs, host/cli/pipeline-entry.ts), not the CLI's module graph.
    expect(readFileSync(`/proc/${running.pid}/cmdline`, "utf8").split("\0")).toContain(fileURLToPath(new URL("../../lib/host/pipeline.mjs", import.meta.url)));
    process.kill(running.pid as number, "SIGKILL");
    await until(() => eventsNamed("pipeline.started").some((e) => e.why === "restart"), "the pipeline to be started again", 30_000);
    expect(serve.events.some((e) => e.event === "service.error" && String(e.message).includes("SIGKILL; started again in 1 s"))).toBe(true);
    await echo("after the death");
  });

  it("a door killed with -9 leaves no pipeline behind; the next host serve takes over the data directory", { timeout: 120_000 }, async () => {
    await echo("wake it again");
    const pipelinePid = eventsNamed("pipeline.started").at(-1)!.pid as number;
    expect(alive(pipelinePid)).toBe(true);
    serve.child.kill("SIGKILL");
    await until(() => !alive(pipelinePid), "the orphaned pipeline to exit", 30_000);
    serve = spawnServe(data);
    await serve.started();
    await echo("after the door's kill");
  });

  it("'host serve --pipeline' by hand is refused with what to run instead", async () => {
    const io = captureIo(work);
    expect(await runCli(["host", "serve", "--pipeline", "sometimes", "--data-dir", data], io)).toBe(64);
    expect(io.err).toMatch(/--pipeline is for the process 'host serve' starts itself.*run 'chatbot host serve' instead/);
  });
});
