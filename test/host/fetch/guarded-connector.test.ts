import type { Socket } from "node:net";
import type { buildConnector } from "undici";
import { describe, expect, it } from "vitest";
import { createGuardedConnector, type Lookup } from "../../../host/fetch/guarded-connector.js";

// A connector that records what it was asked to open and opens nothing: these tests never touch the network.
function recordingConnector(): { connect: buildConnector.connector; calls: buildConnector.Options[] } {
  const calls: buildConnector.Options[] = [];
  return {
    calls,
    connect: (options, callback) => {
      calls.push(options);
      callback(null, { fake: true } as unknown as Socket);
    },
  };
}

function connectWith(connector: buildConnector.connector, options: Partial<buildConnector.Options>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connector({ hostname: "x", protocol: "https:", port: "", ...options }, (error, socket) => (error ? reject(error) : resolve(socket)));
  });
}

const answers =
  (...addresses: string[]): Lookup =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));

describe("guarded connector", () => {
  it("connector: a public answer is connected to by IP with the original name as TLS servername", async () => {
    const base = recordingConnector();
    const connector = createGuardedConnector({ lookup: answers("198.51.100.7"), namedHosts: new Set(), connectSocket: base.connect });
    await connectWith(connector, { hostname: "api.example", host: "api.example", port: "" });
    expect(base.calls).toEqual([expect.objectContaining({ hostname: "198.51.100.7", servername: "api.example" })]);
  });

  it("connector: a name that resolves to loopback is refused and no socket is opened", async () => {
    const base = recordingConnector();
    const connector = createGuardedConnector({ lookup: answers("127.0.0.1"), namedHosts: new Set(), connectSocket: base.connect });
    await expect(connectWith(connector, { hostname: "rebind.test" })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
    expect(base.calls).toEqual([]);
  });

  it("connector: a name with one public and one private answer is refused whatever the order", async () => {
    for (const order of [
      ["198.51.100.7", "10.0.0.1"],
      ["10.0.0.1", "198.51.100.7"],
      ["198.51.100.7", "::ffff:127.0.0.1"],
    ]) {
      const base = recordingConnector();
      const connector = createGuardedConnector({ lookup: answers(...order), namedHosts: new Set(), connectSocket: base.connect });
      await expect(connectWith(connector, { hostname: "mixed.test" })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
      expect(base.calls).toEqual([]);
    }
  });

  it("connector: each new socket resolves again, so a rebinding answer is caught on the second connection", async () => {
    const base = recordingConnector();
    let calls = 0;
    const lookup: Lookup = async () => [{ address: calls++ === 0 ? "198.51.100.7" : "127.0.0.1", family: 4 }];
    const connector = createGuardedConnector({ lookup, namedHosts: new Set(), connectSocket: base.connect });
    await connectWith(connector, { hostname: "rebind.test" });
    await expect(connectWith(connector, { hostname: "rebind.test" })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
    expect(base.calls.map((call) => call.hostname)).toEqual(["198.51.100.7"]);
  });

  it("connector: a loopback literal not named by the operator is refused without DNS", async () => {
    const base = recordingConnector();
    const lookup: Lookup = async () => {
      throw new Error("DNS must not be asked about a literal");
    };
    const connector = createGuardedConnector({ lookup, namedHosts: new Set(["127.0.0.2"]), connectSocket: base.connect });
    await expect(connectWith(connector, { hostname: "127.0.0.1" })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
    await connectWith(connector, { hostname: "127.0.0.2" });
    expect(base.calls.map((call) => [call.hostname, call.servername])).toEqual([["127.0.0.2", undefined]]);
  });

  it("connector: the relay's SMTP and filtermail ports are refused even on a named literal", async () => {
    const base = recordingConnector();
    const connector = createGuardedConnector({ lookup: answers("198.51.100.7"), namedHosts: new Set(["127.0.0.1"]), connectSocket: base.connect });
    for (const port of ["25", "465", "587", "10025", "10026", "10080", "10081"]) {
      await expect(connectWith(connector, { hostname: "127.0.0.1", port })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
      await expect(connectWith(connector, { hostname: "public.test", port })).rejects.toMatchObject({ code: "E_FETCH_ADDRESS" });
    }
    expect(base.calls).toEqual([]);
  });

  it("connector: localhost is answered without DNS and falls back from 127.0.0.1 to ::1", async () => {
    const calls: string[] = [];
    const connectSocket: buildConnector.connector = (options, callback) => {
      calls.push(options.hostname);
      if (options.hostname === "127.0.0.1") callback(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }), null);
      else callback(null, { fake: true } as unknown as Socket);
    };
    const connector = createGuardedConnector({ lookup: answers("198.51.100.7"), namedHosts: new Set(["localhost"]), connectSocket });
    await connectWith(connector, { hostname: "localhost" });
    expect(calls).toEqual(["127.0.0.1", "::1"]);
  });

  it("connector: a failing resolver becomes a short E_FETCH_FAILED", async () => {
    const lookup: Lookup = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.test"), { code: "ENOTFOUND" });
    };
    const connector = createGuardedConnector({ lookup, namedHosts: new Set(), connectSocket: recordingConnector().connect });
    await expect(connectWith(connector, { hostname: "nowhere.test" })).rejects.toMatchObject({
      code: "E_FETCH_FAILED",
      message: "could not resolve nowhere.test (ENOTFOUND)",
    });
  });
});
