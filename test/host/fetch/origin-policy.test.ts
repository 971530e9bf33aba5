import { describe, expect, it } from "vitest";
import { isChatbotError, type ErrorCode } from "../../../core/errors.js";
import { checkFetchUrl, createOriginPolicy, normalizeOrigin } from "../../../host/fetch/origin-policy.js";

const codeOf = (run: () => unknown): ErrorCode | "none" => {
  try {
    run();
    return "none";
  } catch (error) {
    if (isChatbotError(error)) return error.code;
    throw error;
  }
};

describe("origin policy", () => {
  it.each([
    ["https://API.Example.org", "https://api.example.org"],
    ["https://api.example.org/", "https://api.example.org"],
    ["https://api.example.org:443", "https://api.example.org"],
    ["https://api.example.org:8443", "https://api.example.org:8443"],
    ["https://127.0.0.1:8443", "https://127.0.0.1:8443"],
    ["https://[0:0::1]:8443", "https://[::1]:8443"],
    ["https://0x7f.1", "https://127.0.0.1"],
    ["http://localhost:80", "http://localhost"],
    ["https://bücher.example", "https://xn--bcher-kva.example"],
  ])("origin policy: %s normalizes to %s", (entry, origin) => {
    expect(normalizeOrigin(entry)).toBe(origin);
  });

  it.each([
    "api.example.org",
    "ftp://api.example.org",
    "file:///etc/passwd",
    "http://api.example.org",
    "https://user:pw@api.example.org",
    "https://api.example.org/v1",
    "https://api.example.org/?q=1",
    "https://api.example.org/#x",
  ])("origin policy: the allowlist entry %s is a config error naming it", (entry) => {
    expect(() => createOriginPolicy([entry], true)).toThrow(
      expect.objectContaining({ code: "E_CONFIG", message: expect.stringContaining(JSON.stringify(entry)) }),
    );
  });

  it("origin policy: hosts named literally are remembered, DNS names are not", () => {
    const policy = createOriginPolicy(["https://127.0.0.1:8443", "https://[::1]", "https://localhost:9", "https://rebind.test"], false);
    expect([...policy.namedHosts].sort()).toEqual(["127.0.0.1", "::1", "localhost"]);
  });

  it("origin policy: a URL on an allowed origin passes, with default ports folded", () => {
    const policy = createOriginPolicy(["https://api.example.org"], false);
    expect(checkFetchUrl("https://api.example.org:443/v1?q=1", policy).pathname).toBe("/v1");
  });

  it("origin policy: another host, port or subdomain is refused with the approve-origin hint", () => {
    const policy = createOriginPolicy(["https://api.example.org"], false);
    for (const url of ["https://api.example.org:8443/", "https://evil.api.example.org/", "https://api.example.org.evil.test/"]) {
      expect(() => checkFetchUrl(url, policy)).toThrow(
        expect.objectContaining({ code: "E_FETCH_ORIGIN", message: expect.stringContaining("--approve-origin") }),
      );
    }
  });

  it("origin policy: http, file, data and ftp URLs are refused as a scheme error", () => {
    const policy = createOriginPolicy(["https://api.example.org", "http://127.0.0.1:8080"], false);
    for (const url of ["http://api.example.org/", "http://127.0.0.1:8080/", "file:///etc/passwd", "data:text/plain,hi", "ftp://api.example.org/"]) {
      expect(codeOf(() => checkFetchUrl(url, policy))).toBe("E_FETCH_SCHEME");
    }
  });

  it("origin policy: http is accepted only for an allowed loopback origin when the test flag is on", () => {
    const policy = createOriginPolicy(["http://127.0.0.1:8080"], true);
    expect(codeOf(() => checkFetchUrl("http://127.0.0.1:8080/x", policy))).toBe("none");
    expect(codeOf(() => checkFetchUrl("http://127.0.0.1:8081/x", policy))).toBe("E_FETCH_ORIGIN");
    expect(codeOf(() => checkFetchUrl("http://api.example.org/", policy))).toBe("E_FETCH_SCHEME");
  });

  it("origin policy: the relay's mail ports are refused even when allowlisted", () => {
    const policy = createOriginPolicy(["https://127.0.0.1:10025", "https://mail.example:25"], false);
    expect(codeOf(() => checkFetchUrl("https://127.0.0.1:10025/", policy))).toBe("E_FETCH_ADDRESS");
    expect(codeOf(() => checkFetchUrl("https://mail.example:25/", policy))).toBe("E_FETCH_ADDRESS");
  });

  it("origin policy: credentials in the URL and non-URLs are request errors", () => {
    const policy = createOriginPolicy(["https://api.example.org"], false);
    expect(codeOf(() => checkFetchUrl("https://u:p@api.example.org/", policy))).toBe("E_FETCH_REQUEST");
    expect(codeOf(() => checkFetchUrl("/relative", policy))).toBe("E_FETCH_REQUEST");
  });
});
