// The kit's fake fetch: bot.fetch.on records answers; a test never reaches the network, and a bot
// fetching an origin its manifest does not list fails exactly as on a relay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "../../../host/testing/index.js";
import { botFolder } from "./bot-folder.js";

const SOURCE = `import { defineBot } from "chatbot/std";
export default defineBot({
  async message(msg, bot) {
    try {
      const res = await bot.fetch(msg.text);
      await bot.reply(res.status + " " + res.headers.get("content-type") + " " + (await res.text()));
    } catch (e) {
      await bot.reply((e as { code?: string }).code + " " + (e as Error).message);
    }
  },
});
`;

let bot: TestBot;

beforeAll(async () => {
  bot = await createTestBot({ dir: botFolder(SOURCE, { origins: ["https://api.example.org"] }), allowOrigins: ["https://extra.example.org"] });
});
afterAll(() => bot.close());

describe("chatbot/testing: fetch", () => {
  it("a recorded text answers with status 200 and a text content type", async () => {
    bot.fetch.on("https://api.example.org/weather?city=Berlin", "sunny");
    const result = await bot.message("https://api.example.org/weather?city=Berlin");
    expect(result.texts).toEqual(["200 text/plain; charset=utf-8 sunny"]);
    expect(result.fetched).toEqual(["https://api.example.org/weather?city=Berlin"]);
  });

  it("a recorded response keeps its status, headers and bytes", async () => {
    bot.fetch.on("https://extra.example.org/missing", { status: 404, headers: { "Content-Type": "application/json" }, body: new TextEncoder().encode("{}") });
    expect((await bot.message("https://extra.example.org/missing")).texts).toEqual(["404 application/json {}"]);
  });

  it("an unrecorded URL fails with E_FETCH_FAILED, naming the URL and how to record it", async () => {
    const [text] = (await bot.message("https://api.example.org/other")).texts;
    expect(text).toMatch(/^E_FETCH_FAILED /);
    expect(text).toContain("https://api.example.org/other");
    expect(text).toContain('bot.fetch.on("https://api.example.org/other"');
  });

  it("an origin the manifest does not list is refused with E_FETCH_ORIGIN even when recorded", async () => {
    bot.fetch.on("https://not-listed.example.org/", "never served");
    const result = await bot.message("https://not-listed.example.org/");
    expect(result.texts[0]).toMatch(/^E_FETCH_ORIGIN /);
    expect(result.fetched).toEqual(["https://not-listed.example.org/"]);
  });

  it("clear forgets every recording", async () => {
    bot.fetch.on("https://api.example.org/a", "a");
    bot.fetch.clear();
    expect((await bot.message("https://api.example.org/a")).texts[0]).toMatch(/^E_FETCH_FAILED /);
  });

  it("a recording for something that is not a URL is refused at once", () => {
    expect(() => bot.fetch.on("/relative", "x")).toThrow(/not an absolute URL/);
  });
});
