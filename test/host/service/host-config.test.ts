import { describe, expect, it } from "vitest";
import { parseHostConfig } from "../../../host/service/host-config.js";
import { DEFAULT_SEND_PACING, DEFAULT_BOT_LIMITS, DEFAULT_EVENT_LIMITS, DEFAULT_PER_USER_LIMITS, DEFAULT_RELAY_QUOTAS } from "../../../core/limits.js";
import { isChatbotError } from "../../../core/errors.js";

function error(raw: unknown): string {
  try {
    parseHostConfig(raw, "host.json");
  } catch (e) {
    if (isChatbotError(e, "E_CONFIG")) return e.message;
    throw e;
  }
  throw new Error("expected an E_CONFIG error");
}

describe("host config", () => {
  it("imap.pollSeconds: 300 by default, 0 with a deploy inbox (the poll is its fallback), the operator's value either way", () => {
    expect(parseHostConfig({}, "host.json").imap.pollSeconds).toBe(300);
    expect(parseHostConfig({ deployInbox: "/var/lib/chatbot/deploys" }, "host.json").imap.pollSeconds).toBe(0);
    expect(parseHostConfig({ deployInbox: "/var/lib/chatbot/deploys", imap: { port: 993 } }, "host.json").imap).toMatchObject({ port: 993, pollSeconds: 0 });
    expect(parseHostConfig({ deployInbox: "/var/lib/chatbot/deploys", imap: { pollSeconds: 120 } }, "host.json").imap.pollSeconds).toBe(120);
    expect(parseHostConfig({ imap: { pollSeconds: 0 } }, "host.json").imap.pollSeconds).toBe(0);
  });

  it("an empty config gets every default and is frozen", () => {
    const config = parseHostConfig({}, "host.json");
    expect(config).toEqual({
      smtp: { host: "127.0.0.1", port: 587, secure: false, allowSelfSigned: true },
      imap: { host: "127.0.0.1", port: 143, security: "starttls", allowSelfSigned: true, pollSeconds: 300 },
      lmtpSocket: "/var/spool/postfix/chatbot/lmtp.sock",
      lmtpSocketGroup: undefined,
      transportMap: undefined,
      transportNexthop: undefined,
      postfixConfigDir: undefined,
      pipelineRestSeconds: 30,
      concurrency: 1,
      maxAttempts: 10,
      ceilings: { event: DEFAULT_EVENT_LIMITS, perUser: DEFAULT_PER_USER_LIMITS, bot: DEFAULT_BOT_LIMITS },
      quotas: DEFAULT_RELAY_QUOTAS,
      requireWalls: [],
      approvedOrigins: [],
      pacing: DEFAULT_SEND_PACING,
    });
    expect(
      Object.isFrozen(config) &&
        Object.isFrozen(config.smtp) &&
        Object.isFrozen(config.imap) &&
        Object.isFrozen(config.ceilings.event) &&
        Object.isFrozen(config.ceilings.bot),
    ).toBe(true);
  });

  it("lowered ceilings replace the defaults key by key", () => {
    const config = parseHostConfig({ ceilings: { event: { memoryBytes: 64 * 1024 * 1024 }, perUser: { mailsPerHour: 10 } } }, "host.json");
    expect(config.ceilings.event.memoryBytes).toBe(64 * 1024 * 1024);
    expect(config.ceilings.event.cpuMsPerEvent).toBe(DEFAULT_EVENT_LIMITS.cpuMsPerEvent);
    expect(config.ceilings.perUser.mailsPerHour).toBe(10);
  });

  it("the bot CPU budget (ceilings.bot) is configurable key by key; 0 is allowed, a negative or fractional value is not", () => {
    const config = parseHostConfig({ ceilings: { bot: { botCpuMsPerHour: 30 } } }, "host.json");
    expect(config.ceilings.bot).toEqual({ botCpuMsPerHour: 30, botCpuMsPerDay: DEFAULT_BOT_LIMITS.botCpuMsPerDay });
    expect(parseHostConfig({ ceilings: { bot: { botCpuMsPerDay: 0 } } }, "host.json").ceilings.bot.botCpuMsPerDay).toBe(0);
    expect(error({ ceilings: { bot: { botCpuMsPerHour: -1 } } })).toMatch(/"ceilings.bot.botCpuMsPerHour" must be a whole number ≥ 0, not -1/);
    expect(error({ ceilings: { bot: { botCpuMsPerHour: 1.5 } } })).toMatch(/"ceilings.bot.botCpuMsPerHour" must be a whole number/);
    expect(error({ ceilings: { bot: "36000" } })).toMatch(/"ceilings.bot" must be an object/);
  });

  it("unknown keys are errors naming their path", () => {
    expect(error({ smpt: {} })).toMatch(/"smpt" is not a known setting/);
    expect(error({ smtp: { hots: "x" } })).toMatch(/"smtp.hots" is not a known setting/);
    expect(error({ ceilings: { event: { cpuMs: 1 } } })).toMatch(/"ceilings.event.cpuMs" is not a known setting/);
    expect(error({ ceilings: { bot: { cpuMsPerHour: 1 } } })).toMatch(/"ceilings.bot.cpuMsPerHour" is not a known setting/);
    expect(error({ ceilings: { perBot: {} } })).toMatch(/"ceilings.perBot" is not a known setting/);
  });

  it("wrong types are errors naming the key and the value", () => {
    expect(error({ smtp: { port: "587" } })).toMatch(/"smtp.port" must be a whole number/);
    expect(error({ smtp: { secure: "yes" } })).toMatch(/"smtp.secure" must be true or false/);
    expect(error({ concurrency: 0 })).toMatch(/"concurrency" must be at least 1/);
    expect(error({ approvedOrigins: "https://x" })).toMatch(/"approvedOrigins" must be a list/);
    expect(error([])).toMatch(/must be an object/);
    expect(error({ requireWalls: ["network", "moat"] })).toMatch(
      /"requireWalls" must be "all" or a list of layers from network, filesystem, identity, resources, cgroup, lifetime/,
    );
    expect(error({ requireWalls: "some" })).toMatch(/"requireWalls" must be "all" or a list of layers/);
    expect(parseHostConfig({ requireWalls: "all" }, "host.json").requireWalls).toBe("all");
    expect(error({ transportMap: "routes/transport" })).toMatch(/"transportMap" must be an absolute path/);
    expect(error({ transportNexthop: "lmtp:unix:x extra" })).toMatch(/"transportNexthop" must be a Postfix next hop/);
    expect(error({ postfixConfigDir: "etc/postfix" })).toMatch(/"postfixConfigDir" must be an absolute path/);
    expect(parseHostConfig({ transportMap: "/var/lib/chatbot-routes/transport", transportNexthop: "chatbot:" }, "host.json")).toMatchObject({
      transportMap: "/var/lib/chatbot-routes/transport",
      transportNexthop: "chatbot:",
    });
  });

  it("every problem is named at once, one line each with its path, so the operator fixes host.json in one pass", () => {
    expect(error({ smtp: { port: "587" }, imap: { security: "ssl" }, concurrency: 0 }).split("\n")).toEqual([
      'host.json: "smtp.port" must be a whole number ≥ 0, not "587"',
      'host.json: "imap.security" must be one of plain, starttls, tls',
      'host.json: "concurrency" must be at least 1',
    ]);
  });
});
