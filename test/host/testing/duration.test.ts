// Durations as tests write them, at the edges of what is accepted.
import { describe, expect, it } from "vitest";
import { parseDuration, parseInstant } from "../../../host/testing/duration.js";

const HOUR = 3_600_000;

describe("chatbot/testing durations", () => {
  it("reads each unit: ms, s, m, h and d", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("2h")).toBe(2 * HOUR);
    expect(parseDuration("1d")).toBe(24 * HOUR);
  });

  it("adds up combined parts such as 1h30m and 1d2h3m4s", () => {
    expect(parseDuration("1h30m")).toBe(1.5 * HOUR);
    expect(parseDuration("1d2h3m4s")).toBe(26 * HOUR + 3 * 60_000 + 4000);
    expect(parseDuration("1.5h")).toBe(1.5 * HOUR);
  });

  it("takes a number as ms, and zero in either form", () => {
    expect(parseDuration(1234)).toBe(1234);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration("0s")).toBe(0);
  });

  it("refuses a negative, infinite or unit-less duration and names it", () => {
    expect(() => parseDuration(-1)).toThrow(/-1/);
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(/finite/);
    expect(() => parseDuration("90")).toThrow(/"90" is not <number><unit>/);
    expect(() => parseDuration("")).toThrow(/empty/);
    expect(() => parseDuration("-1h")).toThrow(/invalid/);
  });

  it("refuses an unknown unit or trailing text after valid parts", () => {
    expect(() => parseDuration("2w")).toThrow(/"2w"/);
    expect(() => parseDuration("1h30")).toThrow(/"30"/);
    expect(() => parseDuration("1hx")).toThrow(/"x"/);
  });

  it("reads an instant from ms or an ISO date, and refuses anything else", () => {
    expect(parseInstant("2025-01-01T10:00:00Z")).toBe(Date.UTC(2025, 0, 1, 10));
    expect(parseInstant(5)).toBe(5);
    expect(() => parseInstant("tomorrow")).toThrow(/not a time/);
  });
});
