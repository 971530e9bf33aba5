import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkPartSize,
  composeControlMessage,
  composeDeployMessage,
  parseDeployMessage,
  readDeployCredentials,
  samePassword,
  DEPLOY_PARTS,
  type ParsedDeploy,
} from "../../../host/deploy/deploy-message.js";
import {
  BUNDLE_MAX_BYTES,
  DEPLOY_MANIFEST_MAX_BYTES,
  DEPLOY_MESSAGE_MAX_BYTES,
  DEPLOY_PASSWORD_MAX_BYTES,
  DEPLOY_SOURCE_MAP_MAX_BYTES,
} from "../../../core/limits.js";
import { errorCode } from "../../support/errors.js";

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bundle = Buffer.from("globalThis.bot = { message() {} }; // ünïcode\n".repeat(40));
const manifest = (code: Uint8Array = bundle) =>
  Buffer.from(
    JSON.stringify(
      {
        name: "echo",
        version: "1.2.0",
        author: { name: "Ada", contact: "ada@chat.test" },
        entry: "bot.ts",
        bundle: { file: "bot.js", sha256: sha(code), bytes: code.byteLength },
      },
      null,
      2,
    ),
  );
const content = { manifest: manifest(), bundle, sourceMap: Buffer.from('{"version":3}'), password: "bot-password-123" };
const bytes = (text: string) => new TextEncoder().encode(text);
/** The base64 body lines composeDeployMessage writes for `data`. */
const b64 = (data: Uint8Array) =>
  Buffer.from(data)
    .toString("base64")
    .match(/.{1,76}/g)!
    .join("\r\n");

/** Parse a deploy that must be an install (not a control deploy). */
async function parseInstall(raw: Uint8Array): Promise<ParsedDeploy> {
  const parsed = await parseDeployMessage(raw);
  if (parsed.action !== "install") throw new Error(`expected an install, got ${parsed.action}`);
  return parsed;
}

describe("deploy message", () => {
  it("round trip: what chatbot deploy composes, the host parses back byte for byte", async () => {
    const raw = composeDeployMessage("echobot01@chat.test", content, new Date("2026-01-02T03:04:05Z"));
    expect(raw).toMatch(/^X-Chatbot-Deploy: 1\r$/m);
    expect(raw).toMatch(new RegExp(`^Subject: chatbot deploy echo 1\\.2\\.0 sha256=${sha(bundle)}\\r$`, "m"));
    expect(raw.split("\r\n").every((line) => line.length <= 998)).toBe(true);
    const parsed = await parseInstall(bytes(raw));
    expect(parsed.addr).toBe("echobot01@chat.test");
    expect(Buffer.from(parsed.manifest).equals(content.manifest)).toBe(true);
    expect(Buffer.from(parsed.bundle).equals(bundle)).toBe(true);
    expect(Buffer.from(parsed.sourceMap!).toString()).toBe('{"version":3}');
    expect(parsed.password).toBe("bot-password-123");
    expect(parsed.sha256).toBe(sha(bundle));
  });

  it("the source map is optional", async () => {
    const { sourceMap: _omit, ...rest } = content;
    const parsed = await parseInstall(bytes(composeDeployMessage("e@chat.test", rest)));
    expect(parsed.sourceMap).toBeUndefined();
  });

  it("tampered bundle: bot.js changed after deploy no longer matches the sha256 in the subject", async () => {
    const raw = composeDeployMessage("e@chat.test", content);
    const evil = Buffer.from(bundle.toString().replace("message() {}", "message() { while(1); }"));
    const tampered = raw.replace(b64(bundle), b64(evil));
    expect(tampered).not.toBe(raw);
    await expect(parseDeployMessage(bytes(tampered))).rejects.toThrow(/bot\.js does not match the sha256 in the subject/);
    expect(await errorCode(parseDeployMessage(bytes(tampered)))).toBe("E_DEPLOY");
  });

  it("compose refuses a bundle that does not match its manifest (a stale dist/)", () => {
    expect(() => composeDeployMessage("e@chat.test", { ...content, manifest: manifest(Buffer.from("other")) })).toThrow(/run 'chatbot build' again/);
  });

  it("a mail without the marker header, with a part missing, twice or unknown is refused", async () => {
    const raw = composeDeployMessage("e@chat.test", content);
    await expect(parseDeployMessage(bytes(raw.replace("X-Chatbot-Deploy: 1", "X-Other: 1")))).rejects.toThrow(/X-Chatbot-Deploy/);
    await expect(parseDeployMessage(bytes(raw.replace('filename="password"', 'filename="pass"')))).rejects.toThrow(/unexpected attachment "pass"/);
    await expect(parseDeployMessage(bytes(raw.replace('filename="bot.js.map"', 'filename="bot.js"')))).rejects.toThrow(/attached twice/);
    const { sourceMap: _omit, ...rest } = content;
    const noMap = composeDeployMessage("e@chat.test", rest);
    await expect(parseDeployMessage(bytes(noMap.replace('filename="chatbot.json"', 'filename="bot.js.map"')))).rejects.toThrow(/chatbot\.json is missing/);
  });

  it("limits: each part exactly at its cap passes, one byte over is refused", () => {
    for (const [name, cap] of [
      [DEPLOY_PARTS.manifest, DEPLOY_MANIFEST_MAX_BYTES],
      [DEPLOY_PARTS.bundle, BUNDLE_MAX_BYTES],
      [DEPLOY_PARTS.sourceMap, DEPLOY_SOURCE_MAP_MAX_BYTES],
      [DEPLOY_PARTS.password, DEPLOY_PASSWORD_MAX_BYTES],
    ] as const) {
      expect(() => checkPartSize(name, cap)).not.toThrow();
      expect(() => checkPartSize(name, cap + 1)).toThrow(/over the host's cap/);
    }
  });

  it("limits: every part at its cap still fits one deploy message", () => {
    const base64 = (n: number) => Math.ceil(n / 3) * 4 * (78 / 76);
    const total = base64(DEPLOY_MANIFEST_MAX_BYTES) + base64(BUNDLE_MAX_BYTES) + base64(DEPLOY_SOURCE_MAP_MAX_BYTES) + base64(DEPLOY_PASSWORD_MAX_BYTES) + 4096;
    expect(total).toBeLessThan(DEPLOY_MESSAGE_MAX_BYTES);
  });

  it("limits: a message over DEPLOY_MESSAGE_MAX_BYTES is refused before it is parsed", async () => {
    await expect(parseDeployMessage(new Uint8Array(DEPLOY_MESSAGE_MAX_BYTES + 1))).rejects.toThrow(/over the host's cap/);
  });

  it("passwords compare exactly", () => {
    expect(samePassword("bot-password-123", "bot-password-123")).toBe(true);
    expect(samePassword("bot-password-123", "bot-password-124")).toBe(false);
    expect(samePassword("bot-password-123", "bot-password-1234")).toBe(false);
  });

  it("control deploys: pause, resume and remove carry the account and its password only", async () => {
    for (const action of ["pause", "resume", "remove"] as const) {
      const raw = composeControlMessage("echobot01@chat.test", action, "bot-password-123");
      expect(raw).toMatch(new RegExp(`^X-Chatbot-Deploy-Action: ${action}\r$`, "m"));
      expect(await parseDeployMessage(bytes(raw))).toEqual({ action, addr: "echobot01@chat.test", password: "bot-password-123" });
    }
  });

  it("control deploys: an unknown action, or one that carries a bundle, is refused", async () => {
    const raw = composeControlMessage("e@chat.test", "pause", "bot-password-123");
    await expect(parseDeployMessage(bytes(raw.replace("X-Chatbot-Deploy-Action: pause", "X-Chatbot-Deploy-Action: explode")))).rejects.toThrow(
      /must be one of pause, resume, remove/,
    );
    const install = composeDeployMessage("e@chat.test", content);
    const mixed = install.replace("X-Chatbot-Deploy: 1\r\n", "X-Chatbot-Deploy: 1\r\nX-Chatbot-Deploy-Action: pause\r\n");
    await expect(parseDeployMessage(bytes(mixed))).rejects.toThrow(/a --pause deploy carries only the password, not chatbot\.json, bot\.js/);
    expect(() => composeControlMessage("e@chat.test", "pause", "two\nlines")).toThrow(/one line/);
  });

  it("credentials: the account and password, even from a deploy the installer would refuse", async () => {
    const raw = composeDeployMessage("echobot01@chat.test", content);
    const tampered = raw.replace(/sha256=[0-9a-f]{64}/, `sha256=${"0".repeat(64)}`);
    await expect(parseDeployMessage(bytes(tampered))).rejects.toThrow(/E_DEPLOY|sha256/);
    expect(await readDeployCredentials(bytes(tampered))).toEqual({ addr: "echobot01@chat.test", password: "bot-password-123" });
    expect(await readDeployCredentials(bytes(raw.replace('filename="password"', 'filename="other"')))).toBeUndefined();
    expect(await readDeployCredentials(bytes("Subject: not a deploy\r\n\r\nhello\r\n"))).toBeUndefined();
    expect(await readDeployCredentials(new Uint8Array(DEPLOY_MESSAGE_MAX_BYTES + 1))).toBeUndefined();
  });
});
