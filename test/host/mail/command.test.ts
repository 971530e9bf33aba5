import { describe, expect, it } from "vitest";
import { parseCommand } from "../../../host/mail/command.js";

describe("mail command: a /name at the start of the text is a command", () => {
  it("reads /help as the command help with no args", () => {
    expect(parseCommand("/help")).toEqual({ name: "help", args: "" });
  });

  it("keeps everything after the name as args", () => {
    expect(parseCommand("/remind 2h tea")).toEqual({ name: "remind", args: "2h tea" });
  });

  it("drops the @botname suffix of group chats and lowercases the name", () => {
    expect(parseCommand("/Help@mybot x")).toEqual({ name: "help", args: "x" });
  });

  it("keeps the line breaks of multi-line args", () => {
    expect(parseCommand("/note first line\nsecond line\n\nfourth")).toEqual({ name: "note", args: "first line\nsecond line\n\nfourth" });
  });

  it("takes args that start on the next line", () => {
    expect(parseCommand("/note\nbody")).toEqual({ name: "note", args: "body" });
  });

  it("accepts a name of exactly 32 characters", () => {
    const name = "a".repeat(32);
    expect(parseCommand(`/${name} x`)).toEqual({ name, args: "x" });
  });
});

describe("mail command: text that is not a command", () => {
  it.each([
    ["a command later in the text", "hello /help"],
    ["a lone slash", "/"],
    ["a slash followed by a space", "/ x"],
    ["a name of 33 characters, one over the limit", `/${"a".repeat(33)}`],
    ["a name of 33 characters with args", `/${"a".repeat(33)} x`],
    ["a double slash", "//x"],
    ["a path", "/usr/bin/env"],
    ["the empty text", ""],
  ])("is not a command: %s", (_what, text) => {
    expect(parseCommand(text)).toBeUndefined();
  });
});
