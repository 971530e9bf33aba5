// Test support: the Delta Chat cores the end-to-end tests run as the user's client. Each is an npm
// alias of @deltachat/stdio-rpc-server-linux-x64 at one version (optional dependencies of test/cores/package.json),
// driven with the @deltachat/jsonrpc-client of its own version where npm has one: an older server
// lacks newer methods and a newer client would call them (deltachat-client.ts falls back to the
// login settings where a core has no addOrUpdateTransport). 2.62 has no client on npm; 2.57's is the
// nearest and speaks its protocol. MAIN_CORE is the one the whole e2e suite uses.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A core version the tests know, by its short name. */
export type CoreName = "1.139" | "1.160" | "2.33" | "2.57" | "2.62";

export interface DeltaChatCore {
  readonly name: CoreName;
  /** npm package (alias) that holds the deltachat-rpc-server binary. */
  readonly serverPackage: string;
  /** npm package (alias) of the matching @deltachat/jsonrpc-client. */
  readonly clientPackage: string;
  /** 1.x cores have no v3 (symmetric) SecureJoin: they join by the legacy steps only. */
  readonly hasSecureJoinV3: boolean;
  /** 2.x cores have key-contacts: a verified contact is a key-contact with a verifier. */
  readonly hasKeyContacts: boolean;
}

export const DELTA_CHAT_CORES: Readonly<Record<CoreName, DeltaChatCore>> = {
  // The oldest core npm has (2024): no transports API, reads Autocrypt and To only outside the encryption.
  "1.139": { name: "1.139", serverPackage: "dc-core-1139", clientPackage: "dc-client-1139", hasSecureJoinV3: false, hasKeyContacts: false },
  "1.160": { name: "1.160", serverPackage: "dc-core-1160", clientPackage: "dc-client-1160", hasSecureJoinV3: false, hasKeyContacts: false },
  "2.33": { name: "2.33", serverPackage: "dc-core-233", clientPackage: "dc-client-233", hasSecureJoinV3: true, hasKeyContacts: true },
  "2.57": {
    name: "2.57",
    serverPackage: "@deltachat/stdio-rpc-server-linux-x64",
    clientPackage: "@deltachat/jsonrpc-client",
    hasSecureJoinV3: true,
    hasKeyContacts: true,
  },
  "2.62": { name: "2.62", serverPackage: "dc-core-262", clientPackage: "@deltachat/jsonrpc-client", hasSecureJoinV3: true, hasKeyContacts: true },
};

/** The core every e2e test uses unless it names another. */
export const MAIN_CORE: DeltaChatCore = DELTA_CHAT_CORES["2.57"];

/** Every core, oldest first: the client range the README promises. */
export const ALL_CORES: readonly DeltaChatCore[] = [
  DELTA_CHAT_CORES["1.139"],
  DELTA_CHAT_CORES["1.160"],
  DELTA_CHAT_CORES["2.33"],
  DELTA_CHAT_CORES["2.57"],
  DELTA_CHAT_CORES["2.62"],
];

const require = createRequire(import.meta.url);

/** Path of the core's deltachat-rpc-server binary inside its npm package. */
export function rpcServerPath(core: DeltaChatCore = MAIN_CORE): string {
  return join(dirname(require.resolve(`${core.serverPackage}/package.json`)), "deltachat-rpc-server");
}

/** The version the binary reports (`deltachat-rpc-server --version`), e.g. "1.160.0". */
export function packageVersion(core: DeltaChatCore): string {
  return (require(`${core.serverPackage}/package.json`) as { version: string }).version;
}
