import { describe, expect, it } from "vitest";
import { parsePlainSecureJoinRequest } from "../../../../host/wire/mime/parse-plain-securejoin.js";
import { capture, runFacts } from "./fixtures.js";

const legacy = () => capture("plain-legacyqr/01.eml").toString("latin1");
const parse = (text: string) => parsePlainSecureJoinRequest(Buffer.from(text, "latin1"));
const boundaryOf = (text: string) => /boundary="([^"]+)"/.exec(text)![1]!;

describe("parse-plain-securejoin: the unencrypted legacy vc-request, in filtermail's shape only", () => {
  it("reads the recorded request: vc-request, its invite number and the joiner's Autocrypt key", async () => {
    const request = await parse(legacy());
    expect(request).toMatchObject({ from: "alice@chat.test", step: "vc-request", invitenumber: runFacts("plain-legacyqr").invitenumber });
    expect(request?.autocrypt).toMatch(/^addr=alice@chat\.test; prefer-encrypt=mutual; keydata=xjMEaw/);
  });

  it("rejects the request with an extra part (smuggled content next to the text)", async () => {
    const text = legacy();
    const boundary = boundaryOf(text);
    const smuggled = text.replace(`--${boundary}--`, `--${boundary}\nContent-Type: text/plain\n\nclick here\n--${boundary}--`);
    expect(await parse(smuggled)).toBeUndefined();
  });

  it("rejects a different body, even with the right header", async () => {
    expect(await parse(legacy().replace("\n\nSecure-Join: vc-request\n--", "\n\nSecure-Join: vc-request please\n--"))).toBeUndefined();
    expect(await parse(legacy().replace("\n\nSecure-Join: vc-request\n--", "\n\nSecure-Join: vg-request\n--"))).toBeUndefined();
  });

  it("rejects a nested multipart in place of the text leaf", async () => {
    const text = legacy();
    const boundary = boundaryOf(text);
    const nested = text.replace(
      /--[^\n]+\nContent-Type: text\/plain[\s\S]*--\S+--\n/,
      `--${boundary}\nContent-Type: multipart/mixed; boundary="inner"\n\n--inner\nContent-Type: text/plain\n\nSecure-Join: vc-request\n--inner--\n--${boundary}--\n`,
    );
    expect(nested).not.toBe(text);
    expect(await parse(nested)).toBeUndefined();
  });

  it("rejects other steps, a missing invite number and a non-multipart body", async () => {
    expect(await parse(legacy().replace("Secure-Join: vc-request\nSecure-Join-Inv", "Secure-Join: vc-request-with-auth\nSecure-Join-Inv"))).toBeUndefined();
    expect(await parse(legacy().replace(/Secure-Join-Invitenumber: .*\n/, ""))).toBeUndefined();
    expect(await parse(legacy().replace(/Content-Type: multipart\/mixed; \n\tboundary="[^"]+"/, "Content-Type: text/plain"))).toBeUndefined();
  });

  it("accepts vg-request with a differently cased, padded body, as filtermail does (trim + lowercase)", async () => {
    const vg = legacy()
      .replace("Secure-Join: vc-request\nSecure-Join-Inv", "Secure-Join: vg-request\nSecure-Join-Inv")
      .replace("\n\nSecure-Join: vc-request\n--", "\n\n  SECURE-JOIN: VG-REQUEST \n--");
    expect((await parse(vg))?.step).toBe("vg-request");
  });

  it("drops an Autocrypt header whose addr is not the sender (Autocrypt Level 1)", async () => {
    const request = await parse(legacy().replace("Autocrypt: addr=alice@chat.test", "Autocrypt: addr=mallory@chat.test"));
    expect(request).toBeDefined();
    expect(request?.autocrypt).toBeUndefined();
  });
});
