import { describe, expect, it } from "vitest";
import { parseInner } from "../../../../host/wire/mime/parse-inner.js";
import { capture, crlf, errorCode, runFacts } from "./fixtures.js";

const LIMITS = { maxBytes: 1_000_000 };
const V3_RUNS = ["plain", "starttls", "tls"];
const inner = (path: string) => parseInner(capture(path), LIMITS);
const addrOf = (autocrypt: string | undefined) => /addr=([^;\s]+)/.exec(autocrypt ?? "")?.[1];

describe("parse-inner: the recorded decrypted inner messages of Delta Chat 2.57.0", () => {
  describe.each(V3_RUNS)("SecureJoin v3 run %s", (run) => {
    const facts = runFacts(run);

    it("01 vc-request-pubkey carries the auth token and no key", async () => {
      const message = await inner(`${run}/01.decrypted.eml`);
      expect(message.secureJoin).toEqual({ step: "vc-request-pubkey", auth: facts.auth });
      expect(message.from).toEqual({ addr: "alice@chat.test" });
      expect(message.autocrypt).toBeUndefined();
      expect(message.chatVersion).toBeUndefined();
    });

    it("02 vc-pubkey carries the inviter's Autocrypt key and the auth token", async () => {
      const message = await inner(`${run}/02.decrypted.eml`);
      expect(message.secureJoin).toEqual({ step: "vc-pubkey", auth: facts.auth });
      expect(addrOf(message.autocrypt)).toBe("bob@chat.test");
      expect(message.autocrypt).toContain("keydata=xjMEaw");
    });

    it("03 vc-request-with-auth carries auth, the joiner's fingerprint, its key and gossip of the inviter's key", async () => {
      const message = await inner(`${run}/03.decrypted.eml`);
      expect(message.secureJoin).toEqual({ step: "vc-request-with-auth", auth: facts.auth, fingerprint: facts.aliceFingerprint });
      expect(addrOf(message.autocrypt)).toBe("alice@chat.test");
      expect(message.gossip.map(addrOf)).toEqual(["bob@chat.test"]);
      expect(message.from).toEqual({ addr: "alice@chat.test", name: "Alice" });
      expect(message.to).toEqual([{ addr: "bob@chat.test", name: "Bob" }]);
      expect(message.chatVersion).toBe("1.0");
    });

    it("04 vc-contact-confirm carries gossip of the joiner's key", async () => {
      const message = await inner(`${run}/04.decrypted.eml`);
      expect(message.secureJoin).toEqual({ step: "vc-contact-confirm" });
      expect(message.gossip.map(addrOf)).toEqual(["alice@chat.test"]);
    });

    it("05 is the chat text from A, with From/To, Autocrypt and Chat-Version", async () => {
      const message = await inner(`${run}/05.decrypted.eml`);
      expect(message.text).toMatch(/^hello from A \d+$/);
      expect(message.from).toEqual({ addr: "alice@chat.test", name: "Alice" });
      expect(message.to).toEqual([{ addr: "bob@chat.test", name: "Bob" }]);
      expect(addrOf(message.autocrypt)).toBe("alice@chat.test");
      expect(message.chatVersion).toBe("1.0");
      expect(message.secureJoin).toBeUndefined();
      expect(message.group).toBeUndefined();
      expect(message.attachments).toEqual([]);
    });

    it("06 is the reply from B, In-Reply-To pointing at 05", async () => {
      const [hello, reply] = await Promise.all([inner(`${run}/05.decrypted.eml`), inner(`${run}/06.decrypted.eml`)]);
      expect(reply.text).toBe("reply from B");
      expect(reply.inReplyTo).toBe(hello.messageId);
      expect(reply.references).toContain(hello.messageId);
      expect(reply.subject).toBe("Re: Message from Alice");
    });
  });

  it("legacy run: 02 vc-auth-required gossips the joiner's key; 03 carries auth and fingerprint", async () => {
    const facts = runFacts("plain-legacyqr");
    const authRequired = await inner("plain-legacyqr/02.decrypted.eml");
    expect(authRequired.secureJoin).toEqual({ step: "vc-auth-required" });
    expect(authRequired.gossip.map(addrOf)).toEqual(["alice@chat.test"]);
    const withAuth = await inner("plain-legacyqr/03.decrypted.eml");
    expect(withAuth.secureJoin).toEqual({ step: "vc-request-with-auth", auth: facts.auth, fingerprint: facts.aliceFingerprint });
  });

  it("protected headers are honoured: Subject, Date and Message-ID come from the inner headers, not HP-Outer", async () => {
    const message = await inner("plain/05.decrypted.eml");
    expect(message.subject).toBe("Message from Alice");
    expect(message.date?.toISOString()).toBe("2026-11-23T08:59:58.000Z"); // HP-Outer says Sat, 21 Nov
    expect(message.messageId).toBe("<c4e7b56f-523e-43c4-ad94-c4e36eab2e48@localhost>");
    expect(message.headers.get("hp-outer")).toContain("Subject: [...]");
    expect(message.headers.get("content-type")?.[0]).toMatch(/protected-headers="v1";\s+hp="cipher"/);
  });

  it("folded Autocrypt values are unfolded: no line breaks, the key data intact", async () => {
    const message = await inner("plain/03.decrypted.eml");
    expect(message.autocrypt).not.toMatch(/[\r\n]/);
    const keydata = /keydata=([\s\S]*)$/.exec(message.autocrypt ?? "")?.[1]?.replace(/\s+/g, "");
    expect(keydata).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(keydata ?? "", "base64")[0]).toBe(0xc6); // a public key packet (new format, tag 6)
  });
});

describe("parse-inner: Delta Chat headers and text rules", () => {
  const base = (headers: string[], body: string[]) =>
    crlf(
      'Content-Type: text/plain; charset="utf-8"; protected-headers="v1"; hp="cipher"',
      "From: <a@x.example>",
      "To: <bot@x.example>",
      "Chat-Version: 1.0",
      ...headers,
      "",
      ...body,
    );

  it("reads group headers, decoding RFC 2047 words in Chat-Group-Name and Chat-Group-Name-Changed", async () => {
    const message = await parseInner(
      base(
        [
          "Chat-Group-ID: abcdefghijk",
          "Chat-Group-Name: =?utf-8?B?R3LDvHBwY2hlbiDwn46J?=",
          "Chat-Group-Name-Changed: =?utf-8?Q?Alte_Gr=C3=BCppe?=",
          "Chat-Group-Member-Added: Bot@X.example",
        ],
        ["hi"],
      ),
      LIMITS,
    );
    expect(message.group).toEqual({ id: "abcdefghijk", name: "Grüppchen 🎉", nameChanged: "Alte Grüppe", memberAdded: "bot@x.example" });
  });

  it("reads Chat-Delete, Chat-Edit, Chat-Post-Message-ID and Chat-Is-Post-Message as Message-IDs with brackets", async () => {
    const message = await parseInner(base(["Chat-Delete: <one@x> two@x", "Chat-Edit: <old@x>", "Chat-Post-Message-ID: <post@x>"], ["new text"]), LIMITS);
    expect(message.deletes).toEqual(["<one@x>", "<two@x>"]);
    expect(message.edit).toBe("<old@x>");
    expect(message.postMessage).toEqual({ isPost: false, preFor: "<post@x>" });
    const post = await parseInner(base(["Chat-Is-Post-Message: 1"], [""]), LIMITS);
    expect(post.postMessage).toEqual({ isPost: true });
  });

  it("strips a top quote and a signature footer like core's simplify, and unescapes footer marks", async () => {
    const message = await parseInner(base([], ["> quoted line", "> second", "", "the answer", "-\u200B- not a footer", "", "-- ", "my status"]), LIMITS);
    expect(message.text).toBe("the answer\n-- not a footer");
  });

  it("ignores an Autocrypt header given twice (Autocrypt Level 1: treat as absent)", async () => {
    const message = await parseInner(base(["Autocrypt: addr=a@x.example; keydata=AAAA", "Autocrypt: addr=a@x.example; keydata=BBBB"], ["x"]), LIMITS);
    expect(message.autocrypt).toBeUndefined();
  });

  it("size cap: exactly maxBytes is parsed, one byte more is refused before parsing", async () => {
    const raw = capture("plain/05.decrypted.eml");
    expect((await parseInner(raw, { maxBytes: raw.byteLength })).text).toMatch(/^hello from A/);
    expect(await errorCode(() => parseInner(raw, { maxBytes: raw.byteLength - 1 }))).toBe("E_MAIL_TOO_LARGE");
  });
});
