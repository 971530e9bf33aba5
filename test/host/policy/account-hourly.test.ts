// What one account can make the host do in an hour: counted per account, refused past the limit,
// free again an hour (and at most one bucket) later; "over" is reported once an hour.
import { describe, expect, it } from "vitest";
import { AccountHourly } from "../../../host/policy/account-hourly.js";

const HOUR = 60 * 60 * 1000;

describe("account hourly", () => {
  it("takes up to the limit per account, then refuses; other accounts are not affected", () => {
    const counter = new AccountHourly(3);
    expect([1, 2, 3, 4].map(() => counter.take("a@chat.test", 0))).toEqual([true, true, true, false]);
    expect(counter.take("b@chat.test", 0)).toBe(true);
  });

  it("an hour and a bucket later the account may again", () => {
    const counter = new AccountHourly(1);
    expect(counter.take("a@chat.test", 0)).toBe(true);
    expect(counter.take("a@chat.test", HOUR - 1)).toBe(false);
    expect(counter.take("a@chat.test", HOUR + 5 * 60 * 1000)).toBe(true);
  });

  it("reports an account over the limit once an hour", () => {
    const counter = new AccountHourly(1);
    expect(counter.firstOver("a@chat.test", 0)).toBe(true);
    expect(counter.firstOver("a@chat.test", HOUR - 1)).toBe(false);
    expect(counter.firstOver("a@chat.test", HOUR)).toBe(true);
  });
});
