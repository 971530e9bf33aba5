// Local HTTP(S) servers for the fetch tests. They listen on 127.0.0.1 only and count every TCP
// connection and request, so a test can prove that a refused fetch never reached them.

import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), "utf8");

/** The committed test CA and the server certificate it signed (SANs 127.0.0.1, ::1, localhost, rebind.test). */
export const TEST_TLS = { ca: fixture("ca.pem"), cert: fixture("server-cert.pem"), key: fixture("server-key.pem") };

/** A running test server and what it has seen. */
export interface TestServer {
  readonly port: number;
  /** Accepted TCP connections. */
  readonly connections: number;
  /** "METHOD /path" of every request. */
  readonly requests: string[];
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** Start an HTTPS server with the test certificate on 127.0.0.1 (`port` 0 picks a free one). */
export function startHttpsServer(handler: Handler, port = 0): Promise<TestServer> {
  return listen(createHttpsServer({ key: TEST_TLS.key, cert: TEST_TLS.cert }), handler, port);
}

/** Start a plain HTTP server on 127.0.0.1. */
export function startHttpServer(handler: Handler, port = 0): Promise<TestServer> {
  return listen(createHttpServer(), handler, port);
}

function listen(server: Server, handler: Handler, port: number): Promise<TestServer> {
  const state = { connections: 0, requests: [] as string[] };
  server.on("connection", () => state.connections++);
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    state.requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const result: TestServer = {
        port: (server.address() as AddressInfo).port,
        get connections() {
          return state.connections;
        },
        get requests() {
          return state.requests;
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      };
      resolve(result);
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
export async function unusedPort(): Promise<number> {
  const server = await startHttpServer(() => {});
  await server.close();
  return server.port;
}
