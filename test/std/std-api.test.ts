// The guest library as a bot author uses it, run in the real sandbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../host/executor/executor.js";
import { hostLauncher } from "../support/host-walls.js";
import { bundleSource, botWithMessageHandler, messageEvent, messageAt, request } from "../support/sandbox.js";

let executor: Executor;
beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

describe("std: messages", () => {
  it("msg carries text, sender, chat and the parsed command", async () => {
    const result = await executor.run(
      request(botWithMessageHandler(`await bot.reply(JSON.stringify({ t: msg.text, f: msg.from, c: msg.chat.type, cmd: msg.command }));`), {
        event: messageEvent("/remind 2h tea"),
      }),
    );
    expect(JSON.parse(messageAt(result)!.text)).toEqual({
      t: "/remind 2h tea",
      f: { addr: "alice@example.org", name: "Alice" },
      c: "single",
      cmd: { name: "remind", args: "2h tea" },
    });
  });

  it("reply answers the message in its chat", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.reply("hi");`)));
    expect(result.actions).toEqual([{ type: "reply", chatId: "alice@example.org", inReplyTo: "<m1@example.org>", text: "hi" }]);
  });

  it("send addresses a chat by id", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.send("group:abc", { text: "to the group" });`)));
    expect(result.actions).toEqual([{ type: "send", chatId: "group:abc", text: "to the group" }]);
  });

  it("attachments are read with bytes() and can be sent back as a file", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const result = await executor.run(
      request(
        botWithMessageHandler(
          `const a = msg.attachments[0]; const b = await a.bytes(); await bot.reply({ text: a.name + ":" + b.length, file: { name: "back.bin", type: a.type, data: b } });`,
        ),
        {
          event: messageEvent("file", [{ name: "x.bin", type: "application/x-test", size: 5 }]),
          attachments: [bytes],
        },
      ),
    );
    expect(result.status).toBe("ok");
    expect(result.actions[0]).toMatchObject({ text: "x.bin:5", file: { name: "back.bin", type: "application/x-test", size: 5 } });
    expect(Buffer.from(messageAt(result)!.file!.dataBase64, "base64")).toEqual(Buffer.from(bytes));
  });

  it("a string file is sent as UTF-8", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.reply({ file: { name: "n.txt", type: "text/plain", data: "héllo" } });`)));
    expect(Buffer.from(messageAt(result)!.file!.dataBase64, "base64").toString("utf8")).toBe("héllo");
    expect(messageAt(result)!.file!.size).toBe(6);
  });

  it("a file without a name is a bot error that says so", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.reply({ file: { name: "", data: "x" } });`)));
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toMatch(/file.name/);
  });
});

describe("std: state", () => {
  it("get, set, delete and keys work on JSON values, and only changes are returned", async () => {
    const result = await executor.run(
      request(
        botWithMessageHandler(`
          const before = await bot.state.get("count");
          await bot.state.set("count", (before ?? 0) + 1);
          await bot.state.set("obj", { a: [1, 2] });
          await bot.state.delete("gone");
          await bot.reply(JSON.stringify({ before, keys: (await bot.state.keys()).sort(), obj: await bot.state.get("obj"), gone: await bot.state.get("gone") }));`),
        { state: { count: "41", gone: "true" } },
      ),
    );
    expect(JSON.parse(messageAt(result)!.text)).toEqual({ before: 41, keys: ["count", "obj"], obj: { a: [1, 2] } });
    expect(result.state).toEqual({ count: "42", obj: '{"a":[1,2]}' });
  });

  it("an event that only reads state returns no state change", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.state.get("x");`), { state: { x: "1" } }));
    expect(result.state).toBeNull();
  });

  it("a value that is not JSON is refused with a clear error", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.state.set("f", () => 1);`)));
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toMatch(/not JSON/);
  });
});

describe("std: host refusals cross as data", () => {
  it('a refused call is a BotError with the host\'s code and message; called directly, an Error carrying { code, message } whose message is "CODE: message"', async () => {
    const result = await executor.run(
      request(
        botWithMessageHandler(`
          const caught = (fn) => { try { fn(); } catch (e) { return e; } };
          const viaStd = await bot.fetch("https://not-allowed.example/").then(() => undefined, (e) => e);
          const direct = caught(() => globalThis.__chatbotHost.stateSet("k", "not json"));
          await bot.reply(JSON.stringify({ std: [viaStd.name, viaStd.code, viaStd.message], direct: [direct.name, direct.message, direct.refusal] }));`),
      ),
    );
    const { std, direct } = JSON.parse(messageAt(result)!.text) as { std: string[]; direct: [string, string, { code: string; message: string }] };
    expect(std).toEqual(["BotError", "E_FETCH_ORIGIN", expect.stringContaining("not-allowed.example")]);
    const [name, message, refusal] = direct;
    expect(name).toBe("Error");
    expect(refusal).toEqual({ code: "E_STATE", message: "state values must be JSON text" });
    expect(message).toBe("E_STATE: state values must be JSON text");
  });
});

describe("std: logging, time and ticks", () => {
  it("bot.log and console.log write log lines; objects appear as JSON", async () => {
    const result = await executor.run(request(botWithMessageHandler(`bot.log("a", { b: 1 }); console.warn("careful"); console.log(new Error("boom"));`)));
    expect(result.logs.map((l) => [l.level, l.text])).toEqual([
      ["info", 'a {"b":1}'],
      ["warn", "careful"],
      ["info", "Error: boom"],
    ]);
  });

  it("bot.now() starts at the host's clock for the event", async () => {
    const result = await executor.run(request(botWithMessageHandler(`await bot.reply(String(bot.now()));`), { nowMs: 1_000_000 }));
    const now = Number(messageAt(result)!.text);
    expect(now).toBeGreaterThanOrEqual(1_000_000);
    expect(now).toBeLessThan(1_000_000 + 5_000);
  });

  it("a tick runs the tick handler, where reply is refused and send works", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std";
      export default defineBot({ async tick(bot, tick) {
        try { await bot.reply("x"); } catch (e) { bot.log(String(e.message)); }
        await bot.send("alice@example.org", "tick at " + tick.at);
      } });`);
    const result = await executor.run(request(bundle, { event: { kind: "tick", at: 123 } }));
    expect(result.status).toBe("ok");
    expect(result.logs[0]?.text).toMatch(/bot.reply works in message and webxdc handlers/);
    expect(result.actions).toEqual([{ type: "send", chatId: "alice@example.org", text: "tick at 123" }]);
  });

  it("a bot without a handler for the event does nothing and ends ok", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std"; export default defineBot({});`);
    const result = await executor.run(request(bundle, { event: { kind: "tick", at: 1 } }));
    expect(result).toMatchObject({ status: "ok", actions: [] });
  });

  it("defineBot refuses unknown handler names at load time", async () => {
    const bundle = bundleSource(`import { defineBot } from "chatbot/std"; export default defineBot({ mesage() {} } as any);`);
    const result = await executor.run(request(bundle));
    expect(result.status).toBe("bot-error");
    expect(result.error?.message).toMatch(/unknown handler "mesage"/);
  });
});
