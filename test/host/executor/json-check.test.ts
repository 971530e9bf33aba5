// The host's check of guest JSON text (host/executor/json-check.ts) accepts exactly what JSON.parse
// accepts, counts nesting, and never builds the value.
import { describe, expect, it } from "vitest";
import { checkJsonText } from "../../../host/executor/json-check.js";
import { prng } from "../../support/prng.js";

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe("checkJsonText", () => {
  it("accepts valid JSON of every kind", () => {
    for (const text of [
      '{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}',
      " [ ] ",
      "0",
      '""',
      '{"":{}}',
      "-0",
      "1E5",
      '"\\/\\b\\f\\r\\t\\\\\\""',
      "[[[[]]]]",
      '\t{ "k" : [ 1 , 2 ] }\r\n',
    ]) {
      expect(checkJsonText(text, 100), text).toBe("ok");
    }
  });

  it("refuses what JSON.parse refuses", () => {
    for (const text of [
      "",
      " ",
      "[",
      "]",
      "[1,]",
      "{,}",
      '{"a"}',
      '{"a":}',
      "{a:1}",
      "01",
      "1.",
      ".5",
      "+1",
      "1e",
      "--1",
      "tru",
      "nul",
      "[1 2]",
      '"\\x"',
      '"\\u12"',
      '"a\nb"',
      "[]]",
      "{}{}",
      "'a'",
      "NaN",
      "Infinity",
      '"\u0000"',
    ]) {
      expect(parses(text), `${JSON.stringify(text)} should not parse`).toBe(false);
      expect(checkJsonText(text, 100), JSON.stringify(text)).toBe("syntax");
    }
  });

  it("agrees with JSON.parse on 20 000 random mutations of JSON texts (seeded)", () => {
    const random = prng(9);
    const alphabet = '[]{}:,"\\ 01-.eE+tfnru\n\t';
    const samples = ['{"a":[1,2,{"b":null}],"c":"d\\"e"}', "[true,false,-1.5e-3]", '"\\ud83d\\ude00"', "[[],{}]"];
    for (let i = 0; i < 20_000; i++) {
      let text = samples[i % samples.length]!;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * (text.length + 1));
        const char = alphabet[Math.floor(random() * alphabet.length)]!;
        const kind = random();
        text =
          kind < 0.4
            ? text.slice(0, at) + char + text.slice(at)
            : kind < 0.7
              ? text.slice(0, at) + text.slice(at + 1)
              : text.slice(0, at) + char + text.slice(at + 1);
      }
      expect(checkJsonText(text, 1000) === "ok", `seed 9, case ${i}: ${JSON.stringify(text)}`).toBe(parses(text));
    }
  });

  it("counts nesting: at the depth cap ok, one deeper refused", () => {
    expect(checkJsonText("[".repeat(10) + "]".repeat(10), 10)).toBe("ok");
    expect(checkJsonText("[".repeat(11) + "]".repeat(11), 10)).toBe("depth");
    expect(checkJsonText('{"a":{"b":[1]}}', 3)).toBe("ok");
    expect(checkJsonText('{"a":{"b":[1]}}', 2)).toBe("depth");
  });

  it("checks a million levels of nesting without a stack (no recursion)", () => {
    const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000);
    expect(checkJsonText(deep, Infinity)).toBe("ok");
    expect(checkJsonText(deep.slice(0, -1), Infinity)).toBe("syntax");
  });
});
