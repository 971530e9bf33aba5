// The bound at the host's logging edge: no line of host.jsonl is longer than LOG_LINE_MAX_BYTES,
// whatever a field carries, and a cut field says it was cut.
import { describe, expect, it } from "vitest";
import { boundLogLine } from "../../../host/service/bound-log-line.js";
import { LOG_FIELD_MAX_CHARS, LOG_LINE_MAX_BYTES } from "../../../core/limits.js";

/** The line as host serve writes it. */
const written = (line: Record<string, unknown> & { event: string }) => `${JSON.stringify({ at: new Date().toISOString(), ...boundLogLine(line) })}\n`;

describe("boundLogLine", () => {
  it("leaves a normal line as it is", () => {
    const line = { event: "bot.handled", bot: "echo@example.org", status: "ok", cpuMs: 3.2, noConsent: ["a@example.org"] };
    expect(boundLogLine(line)).toEqual(line);
  });

  it(`keeps a field of exactly ${LOG_FIELD_MAX_CHARS} characters and cuts one of one more, naming it in "truncated"`, () => {
    const at = "m".repeat(LOG_FIELD_MAX_CHARS);
    expect(boundLogLine({ event: "bot.handled", message: at })).toEqual({ event: "bot.handled", message: at });
    const cut = boundLogLine({ event: "bot.handled", message: `${at}m` });
    expect(cut.message).toBe(`${at}… [${LOG_FIELD_MAX_CHARS + 1} characters]`);
    expect(cut.truncated).toEqual(["message"]);
  });

  it("a bot error's 30 MB message becomes a line under the cap that says it was cut", () => {
    const text = written({ event: "bot.handled", bot: "b@example.org", error: "E_BOT_EXCEPTION", message: "N".repeat(30_000_000) });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LOG_LINE_MAX_BYTES);
    expect(JSON.parse(text)).toMatchObject({ event: "bot.handled", bot: "b@example.org", error: "E_BOT_EXCEPTION", truncated: ["message"] });
  });

  it("a long string nested in an object or array is cut as that field's JSON", () => {
    const cut = boundLogLine({ event: "x", detail: { inner: ["y".repeat(100_000)] } });
    expect(typeof cut.detail).toBe("string");
    expect(String(cut.detail)).toMatch(/^\{"inner":\["y+… \[100014 characters\]$/);
    expect(cut.truncated).toEqual(["detail"]);
  });

  it("many fields each under the field cap still make a line under the line cap (only the event and field names are kept)", () => {
    const line: Record<string, unknown> & { event: string } = { event: "wide" };
    for (let i = 0; i < 50; i++) line[`field${i}`] = "é".repeat(LOG_FIELD_MAX_CHARS);
    const text = written(line);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LOG_LINE_MAX_BYTES);
    const parsed = JSON.parse(text);
    expect(parsed.event).toBe("wide");
    expect(parsed.truncated).toHaveLength(50);
  });

  it("a value that has no JSON (a cycle) is replaced and named, not thrown", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cut = boundLogLine({ event: "x", cycle });
    expect(cut).toEqual({ event: "x", cycle: "[not JSON]", truncated: ["cycle"] });
  });
});
