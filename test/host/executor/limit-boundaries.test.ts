// Limit boundaries (STYLE principle 5): exactly at the cap passes, one over fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Executor } from "../../../host/executor/executor.js";
import { hostLauncher } from "../../support/host-walls.js";
import { effectiveEventLimits, DEFAULT_EVENT_LIMITS, MODULE_BASE_MEMORY_BYTES, wasmPagesFor } from "../../../core/limits.js";
import { actionPayloadBytes, logEntryBytes } from "../../../host/executor/event-recorder.js";
import { stateEntryBytes } from "../../../host/executor/state-bytes.js";
import { botWithMessageHandler, messageAt, request } from "../../support/sandbox.js";

const MiB = 1024 * 1024;
let executor: Executor;
beforeAll(async () => {
  executor = new Executor({ launcher: await hostLauncher() });
  await executor.warmUp();
});
afterAll(() => executor.close());

const run = (body: string, limits: Parameters<typeof request>[1] = {}) => executor.run(request(botWithMessageHandler(body), limits));

describe("limits: actions per event", () => {
  it("exactly actionsPerEvent replies pass", async () => {
    const result = await run(`for (let i = 0; i < 5; i++) await bot.reply("r" + i);`, { limits: { actionsPerEvent: 5 } });
    expect(result.status).toBe("ok");
    expect(result.actions).toHaveLength(5);
  });
  it("one reply more fails with output-limit", async () => {
    const result = await run(`for (let i = 0; i < 6; i++) await bot.reply("r" + i);`, { limits: { actionsPerEvent: 5 } });
    expect(result.status).toBe("output-limit");
    expect(result.limit).toEqual({ name: "actionsPerEvent", value: 5, unit: "count" });
  });
});

describe("limits: action bytes per event", () => {
  // A reply to the test event names its chat "alice@example.org" (17 bytes) and "<m1@example.org>" (16 bytes).
  const reply = { type: "reply", chatId: "alice@example.org", inReplyTo: "<m1@example.org>" } as const;
  it("text of exactly actionBytesPerEvent bytes passes (UTF-8 counted, with the ids the reply names)", async () => {
    // "é" is 2 bytes in UTF-8: 50 of them are 100 bytes.
    const cap = actionPayloadBytes({ ...reply, text: "é".repeat(50) }, undefined);
    expect(cap).toBe(17 + 16 + 100);
    const result = await run(`await bot.reply("é".repeat(50));`, { limits: { actionBytesPerEvent: cap } });
    expect(result.status).toBe("ok");
  });
  it("one byte more fails", async () => {
    const cap = actionPayloadBytes({ ...reply, text: "é".repeat(50) }, undefined);
    const result = await run(`await bot.reply("é".repeat(50) + "x");`, { limits: { actionBytesPerEvent: cap } });
    expect(result.status).toBe("output-limit");
    expect(result.limit?.name).toBe("actionBytesPerEvent");
  });
  it("file bytes, name and type count too", async () => {
    const file = { name: "a.bin", type: "application/octet-stream", size: 100, dataBase64: "" };
    const cap = actionPayloadBytes({ ...reply, text: "", file }, new Uint8Array(100));
    expect(cap).toBe(17 + 16 + 5 + 24 + 100);
    const ok = await run(`await bot.reply({ file: { name: "a.bin", data: new Uint8Array(100) } });`, { limits: { actionBytesPerEvent: cap } });
    expect(ok.status).toBe("ok");
    expect(messageAt(ok)?.file).toMatchObject({ name: "a.bin", size: 100, type: "application/octet-stream" });
    const over = await run(`await bot.reply({ file: { name: "a.bin", data: new Uint8Array(101) } });`, { limits: { actionBytesPerEvent: cap } });
    expect(over.status).toBe("output-limit");
    const longerName = await run(`await bot.reply({ file: { name: "ab.bin", data: new Uint8Array(100) } });`, { limits: { actionBytesPerEvent: cap } });
    expect(longerName.status).toBe("output-limit");
  });
});

describe("limits: log bytes per event", () => {
  // Each entry counts its text plus LOG_ENTRY_OVERHEAD_BYTES.
  const cap = logEntryBytes("x".repeat(60)) + logEntryBytes("y".repeat(40));
  it("exactly logBytesPerEvent bytes of log pass", async () => {
    const result = await run(`bot.log("x".repeat(60)); bot.log("y".repeat(40));`, { limits: { logBytesPerEvent: cap } });
    expect(result.status).toBe("ok");
    expect(result.logs.map((l) => l.text.length)).toEqual([60, 40]);
  });
  it("one byte more fails", async () => {
    const result = await run(`bot.log("x".repeat(60)); bot.log("y".repeat(41));`, { limits: { logBytesPerEvent: cap } });
    expect(result.status).toBe("output-limit");
    expect(result.limit?.name).toBe("logBytesPerEvent");
  });
});

describe("limits: state bytes", () => {
  // key "k" (1 byte) + JSON of a string of n chars (n + 2 quotes)
  const quota = stateEntryBytes("k", JSON.stringify("x".repeat(97)));
  it("state of exactly stateBytes passes and is returned", async () => {
    const result = await run(`await bot.state.set("k", "x".repeat(97));`, { limits: { stateBytes: quota } });
    expect(quota).toBe(100);
    expect(result.status).toBe("ok");
    expect(result.state).toEqual({ k: JSON.stringify("x".repeat(97)) });
  });
  it("one byte more fails and keeps the old state", async () => {
    const result = await run(`await bot.state.set("k", "x".repeat(98));`, { limits: { stateBytes: quota } });
    expect(result.status).toBe("output-limit");
    expect(result.state).toBeNull();
  });
  it("replacing a value counts only the new size", async () => {
    const result = await run(`await bot.state.set("k", "x".repeat(97));`, { limits: { stateBytes: quota }, state: { k: JSON.stringify("y".repeat(97)) } });
    expect(result.status).toBe("ok");
  });
});

describe("limits: memory", () => {
  // What a bot can allocate is the cap minus what the module itself needs (MODULE_BASE_MEMORY_BYTES).
  it("an allocation well inside the cap passes", async () => {
    const result = await run(`const a = new Uint8Array(${40 * MiB}); a[a.length - 1] = 1; await bot.reply("ok");`, { limits: { memoryBytes: 64 * MiB } });
    expect(result.status).toBe("ok");
  });
  it("an allocation of the cap plus one byte fails with memory-limit", async () => {
    const result = await run(`const a = new Uint8Array(${64 * MiB + 1}); await bot.reply(String(a.length));`, { limits: { memoryBytes: 64 * MiB } });
    expect(result.status).toBe("memory-limit");
    expect(result.limit).toEqual({ name: "memoryBytes", value: 64 * MiB, unit: "bytes" });
  });
  it("the WASM memory maximum is the cap in 64 KiB pages", () => {
    expect(wasmPagesFor(64 * MiB)).toBe(1024);
    expect(wasmPagesFor(64 * MiB + 1)).toBe(1025);
    expect(wasmPagesFor(MODULE_BASE_MEMORY_BYTES)).toBe(256);
  });
});

describe("limits: CPU per event", () => {
  it("a bot well under its CPU budget passes and reports its CPU time", async () => {
    const result = await run(`let x = 0; for (let i = 0; i < 1e5; i++) x += i; await bot.reply(String(x));`, { limits: { cpuMsPerEvent: 1000 } });
    expect(result.status).toBe("ok");
    expect(result.cpuMs).toBeGreaterThan(0);
    expect(result.cpuMs).toBeLessThan(1000);
  });
  it("a bot over its budget fails with cpu-limit naming the budget", async () => {
    const result = await run(`for (;;) {}`, { limits: { cpuMsPerEvent: 50 } });
    expect(result.status).toBe("cpu-limit");
    expect(result.limit).toEqual({ name: "cpuMsPerEvent", value: 50, unit: "ms" });
  });
});

describe("limits: resolving manifest limits against the operator's ceilings", () => {
  it("a manifest value at the ceiling is kept", () => {
    expect(effectiveEventLimits(DEFAULT_EVENT_LIMITS, { cpuMsPerEvent: 1000 }).cpuMsPerEvent).toBe(1000);
  });
  it("a lower value is kept and a higher one is capped to the ceiling", () => {
    expect(effectiveEventLimits(DEFAULT_EVENT_LIMITS, { memoryBytes: 32 * MiB }).memoryBytes).toBe(32 * MiB);
    expect(effectiveEventLimits(DEFAULT_EVENT_LIMITS, { wallMsPerEvent: 30_001 }).wallMsPerEvent).toBe(30_000);
  });
  it("the result is frozen", () => {
    expect(Object.isFrozen(effectiveEventLimits(DEFAULT_EVENT_LIMITS, {}))).toBe(true);
  });
});
