// Strings cross the bridge exactly. quickjs-emscripten passes strings as C strings, so a NUL used
// to end them early ("a\0b" arrived as "a", a decoded body lost everything after a 0 byte) and
// lone surrogates came out changed; the host now reads and makes such strings another way.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import { NUL_STRING_MAX_CHARS } from "../../../core/limits.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

let executor: Executor;
beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

it("a reply text, a log line and a file made from a string keep their NUL characters and lone surrogates", async () => {
  const result = await executor.run(
    request(
      botWithMessageHandler(`
        await bot.reply({ text: "a\\u0000b \\uD800 c", file: { name: "n.txt", type: "text/plain", data: "x\\u0000y" } });
        bot.log("log\\u0000line");`),
    ),
  );
  expect(result.status, result.error?.message).toBe("ok");
  expect(result.actions).toMatchObject([
    { type: "reply", text: "a\u0000b \uD800 c", file: { name: "n.txt", size: 3, dataBase64: Buffer.from("x\u0000y").toString("base64") } },
  ]);
  expect(result.logs.map((line) => line.text)).toEqual(["log\u0000line"]);
});

it("a fetched body with 0 bytes decodes whole (res.text())", async () => {
  const body = Buffer.from("before\u0000after", "utf8");
  const result = await executor.run(
    request(
      botWithMessageHandler(
        `const res = await bot.fetch("https://example.org/data"); const text = await res.text(); await bot.reply(text.length + ":" + JSON.stringify(text));`,
      ),
      { fetch: { allowOrigins: ["https://example.org"], allowHttpLoopback: false } },
    ),
    { recorded: [{ url: "https://example.org/data", status: 200, headers: {}, bodyBase64: body.toString("base64") }] },
  );
  expect(result.status, result.error?.message).toBe("ok");
  expect(result.actions).toMatchObject([{ type: "reply", text: `12:${JSON.stringify("before\u0000after")}` }]);
});

it("a bot that plants String.prototype.toJSON and an Object.prototype getter cannot change what the host reads", async () => {
  const result = await executor.run(
    request(
      botWithMessageHandler(`
        String.prototype.toJSON = () => "forged";
        Object.defineProperty(Object.prototype, "s", { get: () => "forged", set: () => {}, configurable: true });
        await bot.reply("a\\u0000b");`),
    ),
  );
  expect(result.status, result.error?.message).toBe("ok");
  expect(result.actions).toMatchObject([{ type: "reply", text: "a\u0000b" }]);
});

it("NUL_STRING_MAX_CHARS: a text with NULs at the cap crosses whole, one over is refused (E_ARGUMENT), both ways", async () => {
  const send = (chars: number) => executor.run(request(botWithMessageHandler(`await bot.reply("\\u0000".repeat(${chars}));`)));
  const atCap = await send(NUL_STRING_MAX_CHARS);
  expect(atCap.status, atCap.error?.message).toBe("ok");
  expect((atCap.actions[0] as { text: string }).text).toHaveLength(NUL_STRING_MAX_CHARS);
  const over = await send(NUL_STRING_MAX_CHARS + 1);
  expect(over.status).toBe("bot-error");
  expect(over.error?.message).toMatch(/a string with NUL characters .* up to 1048576 characters; this one has 1048577/);

  const decode = (bytes: number) =>
    executor.run(
      request(
        botWithMessageHandler(`const res = await bot.fetch("https://example.org/zeros"); const text = await res.text(); await bot.reply(String(text.length));`),
        { fetch: { allowOrigins: ["https://example.org"], allowHttpLoopback: false } },
      ),
      { recorded: [{ url: "https://example.org/zeros", status: 200, headers: {}, bodyBase64: Buffer.alloc(bytes).toString("base64") }] },
    );
  const decodedAtCap = await decode(NUL_STRING_MAX_CHARS);
  expect(decodedAtCap.actions).toMatchObject([{ text: String(NUL_STRING_MAX_CHARS) }]);
  const decodedOver = await decode(NUL_STRING_MAX_CHARS + 1);
  expect(decodedOver.status).toBe("bot-error");
  expect(decodedOver.error?.message).toMatch(/a string with NUL characters .* up to 1048576 characters; this one has 1048577/);
  expect(executor.stats).toMatchObject({ runnersKilled: 0, runnersCrashed: 0, sandboxResets: 0 });
});

it('state keys and values with NUL characters are stored exactly: "a\\0b" and "a" are two keys', async () => {
  const result = await executor.run(
    request(
      botWithMessageHandler(`
        await bot.state.set("a\\u0000b", "x\\u0000y");
        await bot.state.set("a", 1);
        await bot.reply(JSON.stringify([await bot.state.get("a\\u0000b"), await bot.state.get("a")]));`),
    ),
  );
  expect(result.status, result.error?.message).toBe("ok");
  expect(result.state).toEqual({ "a\u0000b": JSON.stringify("x\u0000y"), a: "1" });
  expect(result.actions).toMatchObject([{ type: "reply", text: JSON.stringify(["x\u0000y", 1]) }]);
});
