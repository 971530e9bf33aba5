// The echo bot's tests. chatbot/testing runs every message in the same sandbox, with the same
// limits, as a relay does; only the clock, fetch and state store are fakes. Run: npm test
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "chatbot/testing";

let bot: TestBot;

beforeAll(async () => {
  // Builds the bot of this folder (chatbot.json, bot.ts) like `chatbot build` does.
  bot = await createTestBot({ dir: import.meta.url });
});
afterAll(() => bot.close());

describe("echo bot", () => {
  it("answers /help with the list of commands", async () => {
    const { texts } = await bot.message("/help");
    expect(texts).toHaveLength(1);
    expect(texts[0]).toContain("/help — this text");
  });

  it("echoes a text back, as a reply in the sender's chat", async () => {
    const { messages } = await bot.message("hello", { from: "bob@example.org" });
    expect(messages).toMatchObject([{ type: "reply", chatId: "bob@example.org", text: "echo: hello" }]);
  });

  it("sends a file back byte for byte", async () => {
    const data = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    const { messages } = await bot.message("", { files: [{ name: "photo.png", data }] });
    expect(messages[0]?.text).toBe("echo: photo.png (image/png, 7 bytes)");
    expect(messages[0]?.file).toEqual({ name: "photo.png", type: "image/png", bytes: data });
  });

  it("ignores reactions to its messages", async () => {
    const [reply] = (await bot.message("hi")).messages;
    const result = await bot.message("👍", { reaction: { emoji: "👍", to: reply!.id } });
    expect(result.status).toBe("ok");
    expect(result.actions).toEqual([]);
  });
});
