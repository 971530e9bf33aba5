// The undici connector that decides which address a bot's socket may reach. It resolves the host
// itself and connects to the very IP it checked, so there is no gap between check and use for a
// rebinding DNS server to exploit. It runs for every new socket, so pooled connections are covered.

import { lookup as dnsLookup } from "node:dns/promises";
import type { Socket } from "node:net";
import type { buildConnector } from "undici";
import { ChatbotError } from "../../core/errors.js";
import { checkAddress, isRefusedPort, parseIp } from "./address-policy.js";

/** DNS as the connector needs it: every address for a name, in the order to try them. */
export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

/** What the guarded connector needs; all of it injected. */
export interface GuardedConnectorOptions {
  /** Resolves names that are not IP literals (never called for literals or `localhost`). */
  lookup: Lookup;
  /** Hosts the operator named literally (IP literals, `localhost`); see `checkAddress`. */
  namedHosts: ReadonlySet<string>;
  /** Opens the socket once the address is approved: undici's `buildConnector(...)` in production. */
  connectSocket: buildConnector.connector;
}

/** The system resolver: all A and AAAA answers, in the resolver's order. */
export const systemLookup: Lookup = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * An undici connector that opens a socket only to an address a bot may reach (E_FETCH_ADDRESS).
 * If ANY resolved address is refused the whole connection is refused, rather than filtering the
 * bad ones out: a public name that also answers with a private address is an attack or a
 * misconfiguration, and refusing makes the outcome independent of record order.
 */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const { lookup, namedHosts, connectSocket } = options;
  return (connectOptions, callback) => {
    approvedAddresses(connectOptions, lookup, namedHosts).then(
      (addresses) => connectFirst(connectOptions, addresses, connectSocket, callback),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

async function approvedAddresses({ hostname, protocol, port }: buildConnector.Options, lookup: Lookup, namedHosts: ReadonlySet<string>): Promise<string[]> {
  const portNumber = port === "" || port === undefined ? (protocol === "http:" ? 80 : 443) : Number(port);
  if (isRefusedPort(portNumber)) {
    throw new ChatbotError("E_FETCH_ADDRESS", `port ${portNumber} is a mail port of the relay, which bots may never reach`);
  }
  const addresses = await candidates(hostname, lookup);
  for (const address of addresses) {
    const verdict = checkAddress(address, hostname, namedHosts);
    if (!verdict.allowed) {
      const what = `${/^[aeiou]/.test(verdict.kind) ? "an" : "a"} ${verdict.kind} address`;
      throw new ChatbotError(
        "E_FETCH_ADDRESS",
        address === hostname
          ? `${address} is ${what}, which bots may not reach`
          : `${hostname} resolves to ${address}, ${what}, which bots may not reach through a DNS name`,
      );
    }
  }
  return addresses;
}

// `localhost` is answered here, not by DNS (RFC 6761 §6.3), so it can only ever mean loopback.
async function candidates(hostname: string, lookup: Lookup): Promise<string[]> {
  if (parseIp(hostname)) return [hostname];
  if (hostname === "localhost") return ["127.0.0.1", "::1"];
  let answers: Array<{ address: string }>;
  try {
    answers = await lookup(hostname);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ChatbotError("E_FETCH_FAILED", `could not resolve ${hostname}${typeof code === "string" ? ` (${code})` : ""}`, {
      cause: error,
    });
  }
  if (answers.length === 0) throw new ChatbotError("E_FETCH_FAILED", `could not resolve ${hostname} (no addresses)`);
  return answers.map(({ address }) => address);
}

// Tries the approved addresses in order, as a resolver-aware client would; the first socket wins.
function connectFirst(
  connectOptions: buildConnector.Options,
  addresses: readonly string[],
  connectSocket: buildConnector.connector,
  callback: buildConnector.Callback,
): void {
  const [address, ...rest] = addresses;
  if (address === undefined) {
    callback(new ChatbotError("E_FETCH_FAILED", `could not connect to ${connectOptions.hostname}`), null);
    return;
  }
  // SNI and certificate checks must use the name the bot asked for, not the IP we connect to.
  // An IP literal gets no SNI (RFC 6066 §3); node then checks the certificate against the IP.
  const servername = parseIp(connectOptions.hostname) ? undefined : connectOptions.hostname;
  const { servername: _ignored, ...base } = connectOptions;
  connectSocket({ ...base, hostname: address, ...(servername === undefined ? {} : { servername }) }, (error, socket) => {
    if (error === null) {
      callback(null, socket as Socket);
    } else if (rest.length > 0 && !(error instanceof ChatbotError)) {
      connectFirst(connectOptions, rest, connectSocket, callback);
    } else {
      callback(error, null);
    }
  });
}
