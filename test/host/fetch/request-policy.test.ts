import { describe, expect, it } from "vitest";
import { checkMethod, redirectHeaders, redirectMethod, sanitizeHeaders } from "../../../host/fetch/request-policy.js";

describe("request policy", () => {
  it("request policy: the allowed methods pass in any case", () => {
    for (const method of ["get", "HEAD", "Post", "PUT", "patch", "DELETE", "options"]) expect(checkMethod(method)).toBe(method.toUpperCase());
  });

  it("request policy: CONNECT, TRACE and made-up methods are refused", () => {
    for (const method of ["CONNECT", "TRACE", "TRACK", "PROPFIND", "GET /x HTTP/1.1"]) {
      expect(() => checkMethod(method)).toThrow(expect.objectContaining({ code: "E_FETCH_REQUEST" }));
    }
  });

  it("request policy: framing, host and proxy headers a bot could smuggle with are dropped", () => {
    const headers = sanitizeHeaders([
      ["Host", "evil.example"],
      ["Content-Length", "0"],
      ["Transfer-Encoding", "chunked"],
      ["Connection", "Upgrade"],
      ["Upgrade", "websocket"],
      ["Keep-Alive", "timeout=5"],
      ["TE", "trailers"],
      ["Trailer", "x"],
      ["Proxy-Authorization", "Basic x"],
      ["X-Api-Key", "  k  "],
    ]);
    expect(headers).toEqual([
      ["x-api-key", "k"],
      ["user-agent", "chatbot"],
    ]);
  });

  it("request policy: a bot's own user-agent replaces the default", () => {
    expect(sanitizeHeaders([["User-Agent", "mybot/1"]])).toEqual([["user-agent", "mybot/1"]]);
  });

  it("request policy: header injection with CR or LF is refused", () => {
    expect(() => sanitizeHeaders([["x-a", "1\r\nHost: evil"]])).toThrow(expect.objectContaining({ code: "E_FETCH_REQUEST" }));
    expect(() => sanitizeHeaders([["x-a\r\nx-b", "1"]])).toThrow(expect.objectContaining({ code: "E_FETCH_REQUEST" }));
    expect(() => sanitizeHeaders([["bad name", "1"]])).toThrow(expect.objectContaining({ code: "E_FETCH_REQUEST" }));
  });

  it("request policy: 303 and POST after 301/302 become GET without body, 307/308 keep both", () => {
    expect(redirectMethod(303, "PUT")).toEqual({ method: "GET", keepBody: false });
    expect(redirectMethod(303, "HEAD")).toEqual({ method: "HEAD", keepBody: true });
    expect(redirectMethod(302, "POST")).toEqual({ method: "GET", keepBody: false });
    expect(redirectMethod(301, "POST")).toEqual({ method: "GET", keepBody: false });
    expect(redirectMethod(302, "PUT")).toEqual({ method: "PUT", keepBody: true });
    expect(redirectMethod(307, "POST")).toEqual({ method: "POST", keepBody: true });
    expect(redirectMethod(308, "POST")).toEqual({ method: "POST", keepBody: true });
  });

  it("request policy: a cross-origin redirect drops credentials, a bodiless one drops body headers", () => {
    const headers: Array<[string, string]> = [
      ["authorization", "Bearer t"],
      ["cookie", "a=1"],
      ["content-type", "text/plain"],
      ["x-k", "1"],
    ];
    expect(redirectHeaders(headers, true, false)).toEqual(headers);
    expect(redirectHeaders(headers, true, true)).toEqual([
      ["content-type", "text/plain"],
      ["x-k", "1"],
    ]);
    expect(redirectHeaders(headers, false, false)).toEqual([
      ["authorization", "Bearer t"],
      ["cookie", "a=1"],
      ["x-k", "1"],
    ]);
  });
});
