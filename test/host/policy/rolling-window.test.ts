import { describe, expect, it } from "vitest";
import { HOUR_WINDOW, add, expiresAt, fitsAt, total, type Buckets } from "../../../host/policy/rolling-window.js";
import { HOUR, MINUTE, T0 } from "../../support/fake-clock.js";

describe("rolling window", () => {
  it("an amount counts for at least the window and at most one bucket longer", () => {
    const spent = add([], HOUR_WINDOW, T0 + 59_999, 5); // the last ms of minute 0
    expect(total(spent, HOUR_WINDOW, T0 + 59_999 + HOUR)).toBe(5); // still counting a full hour later
    expect(total(spent, HOUR_WINDOW, T0 + MINUTE + HOUR)).toBe(0); // gone at the end of its bucket + 1 h
    expect(expiresAt(HOUR_WINDOW, Math.floor(T0 / MINUTE))).toBe(T0 + MINUTE + HOUR);
  });

  it("amounts in one bucket add up; adding leaves the input alone", () => {
    const first: Buckets = add([], HOUR_WINDOW, T0, 2);
    const second = add(first, HOUR_WINDOW, T0 + 1000, 3);
    expect(first).toEqual([[T0 / MINUTE, 2]]);
    expect(second).toEqual([[T0 / MINUTE, 5]]);
  });

  it("fitsAt: now when it fits, the expiry of the bucket that makes room otherwise, Infinity when it never can", () => {
    let spent: Buckets = [];
    spent = add(spent, HOUR_WINDOW, T0, 4);
    spent = add(spent, HOUR_WINDOW, T0 + 10 * MINUTE, 6);
    expect(fitsAt(spent, HOUR_WINDOW, T0 + 20 * MINUTE, 10, 0)).toBe(T0 + 20 * MINUTE); // at the cap fits
    expect(fitsAt(spent, HOUR_WINDOW, T0 + 20 * MINUTE, 10, 4)).toBe(T0 + MINUTE + HOUR); // the 4 leave first
    expect(fitsAt(spent, HOUR_WINDOW, T0 + 20 * MINUTE, 10, 5)).toBe(T0 + 11 * MINUTE + HOUR); // needs the 6 gone too
    expect(fitsAt(spent, HOUR_WINDOW, T0 + 20 * MINUTE, 10, 11)).toBe(Number.POSITIVE_INFINITY);
  });
});
