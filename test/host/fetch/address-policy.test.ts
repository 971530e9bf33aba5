import { describe, expect, it } from "vitest";
import { checkAddress, classifyAddress, isRefusedPort, parseIp, type AddressKind } from "../../../host/fetch/address-policy.js";

const kind = (address: string): AddressKind => {
  const bytes = parseIp(address);
  if (!bytes) throw new Error(`not an IP: ${address}`);
  return classifyAddress(bytes);
};

describe("address policy", () => {
  it.each([
    // [address, kind]: every refused range at its first and last address, and public neighbours.
    ["0.0.0.0", "unspecified"],
    ["0.255.255.255", "unspecified"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.0.0.0", "private"],
    ["10.255.255.255", "private"],
    ["100.63.255.255", "public"],
    ["100.64.0.0", "shared"],
    ["100.127.255.255", "shared"],
    ["100.128.0.0", "public"],
    ["172.15.255.255", "public"],
    ["172.16.0.0", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.0", "public"],
    ["192.168.0.1", "private"],
    ["192.169.0.1", "public"],
    ["169.254.169.254", "link-local"],
    ["223.255.255.255", "public"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.255", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.254", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["8.8.8.8", "public"],
    ["198.51.100.7", "public"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["fc00::1", "private"],
    ["fdff:ffff::1", "private"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf::1", "link-local"],
    ["fec0::1", "private"],
    ["ff02::1", "multicast"],
    ["2001:4860:4860::8888", "public"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:10.1.2.3", "private"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:8.8.8.8", "public"],
    ["0:0:0:0:0:ffff:192.168.1.1", "private"],
    ["::127.0.0.1", "reserved"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "private"],
    ["64:ff9b::8.8.8.8", "public"],
    ["64:ff9b:1::1", "private"],
    ["2002:7f00:1::", "loopback"],
    ["2002:c0a8:101::1", "private"],
    ["2002:808:808::1", "public"],
  ] as const)("address policy: %s is %s", (address, expected) => {
    expect(kind(address)).toBe(expected);
  });

  it("address policy: non-IP text is not parsed as an address", () => {
    for (const text of ["localhost", "rebind.test", "127.1", "0x7f.0.0.1", "", "1.2.3.4.5", "::ffff:1.2.3"]) {
      expect(parseIp(text)).toBeUndefined();
    }
  });

  it("address policy: the relay's mail ports are refused and the web ports are not", () => {
    for (const port of [25, 465, 587, 10025, 10026, 10080, 10081]) expect(isRefusedPort(port)).toBe(true);
    for (const port of [80, 443, 8443, 10024, 10027]) expect(isRefusedPort(port)).toBe(false);
  });

  it("address policy: a public address is reachable through any name", () => {
    expect(checkAddress("8.8.8.8", "dns.example", new Set())).toEqual({ allowed: true });
  });

  it("address policy: a name resolving to loopback is refused even if the name is allowlisted", () => {
    expect(checkAddress("127.0.0.1", "rebind.test", new Set(["rebind.test"]))).toEqual({ allowed: false, kind: "loopback" });
  });

  it("address policy: a loopback literal is reachable only if the operator named it", () => {
    expect(checkAddress("127.0.0.1", "127.0.0.1", new Set(["127.0.0.1"]))).toEqual({ allowed: true });
    expect(checkAddress("127.0.0.1", "127.0.0.1", new Set())).toEqual({ allowed: false, kind: "loopback" });
    expect(checkAddress("::1", "::1", new Set(["::1"]))).toEqual({ allowed: true });
  });

  it("address policy: a named literal does not open a different private address", () => {
    expect(checkAddress("10.0.0.2", "10.0.0.1", new Set(["10.0.0.1"]))).toEqual({ allowed: false, kind: "private" });
  });

  it("address policy: localhost opens loopback addresses only", () => {
    const named = new Set(["localhost"]);
    expect(checkAddress("127.0.0.1", "localhost", named)).toEqual({ allowed: true });
    expect(checkAddress("::1", "localhost", named)).toEqual({ allowed: true });
    expect(checkAddress("192.168.1.1", "localhost", named)).toEqual({ allowed: false, kind: "private" });
  });

  it("address policy: unspecified, multicast and broadcast addresses are refused even when named", () => {
    for (const address of ["0.0.0.0", "224.0.0.1", "255.255.255.255", "::", "ff02::1"]) {
      expect(checkAddress(address, address, new Set([address])).allowed).toBe(false);
    }
  });
});
