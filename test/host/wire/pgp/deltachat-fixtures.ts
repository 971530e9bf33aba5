// Access to the Delta Chat wire captures in test/fixtures/deltachat (see INDEX.txt there): core 2.57.0
// runs, and one legacy run between two core 1.160 clients.
import { readdir, readFile } from "node:fs/promises";
import * as openpgp from "openpgp";
import { identityFromArmored, type BotIdentity } from "../../../../host/wire/pgp/identity.js";

const ROOT = new URL("../../../fixtures/deltachat/", import.meta.url);

/** The runs with SecureJoin v3 captures 01-06 (encrypted, all of them). */
export const V3_RUNS = ["plain", "starttls", "tls"] as const;
/** Every core 2.57 run directory. */
export const RUNS = [...V3_RUNS, "plain-legacyqr"] as const;
/**
 * Core 1.160's legacy run, not in RUNS: those tests assert 2.57 habits (e.g. an outer Date days
 * earlier than the protected one) that 1.160 does not have.
 */
export const CORE_1160_RUN = "core-1160-legacyqr";

/** A fixture file's bytes. */
export function fixtureBytes(path: string): Promise<Buffer> {
  return readFile(new URL(path, ROOT));
}

/** A fixture file as text (the captures are ASCII; inner MIME is UTF-8). */
export async function fixtureText(path: string): Promise<string> {
  return (await fixtureBytes(path)).toString("utf8");
}

/**
 * A capture as it crossed SMTP: dovecot stored it with LF line ends, the wire (and filtermail, which
 * refuses bare LF) carries CRLF.
 */
export async function wireCapture(path: string): Promise<string> {
  return (await fixtureText(path)).replace(/\r?\n/g, "\r\n");
}

/** The armored PGP MESSAGE block of a capture. */
export function armoredPart(eml: string): string {
  const match = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----\r?\n/.exec(eml);
  if (!match) throw new Error("no PGP MESSAGE in this capture");
  return match[0];
}

/** One side of a run: its address, armored keys and identity. */
export interface Party {
  addr: string;
  privateArmored: string;
  publicKey: openpgp.PublicKey;
  identity: BotIdentity;
  fingerprint: string;
}

/** SecureJoin data of a run (from the QR). */
export interface SecureJoinData {
  inviterFingerprint: string;
  auth: string;
}

/** Alice (A, the joiner), Bob (B, the inviter) and the QR secrets of a run. */
export async function runKeys(run: string): Promise<{ A: Party; B: Party; securejoin: SecureJoinData }> {
  const party = async (who: "A" | "B", addr: string): Promise<Party> => {
    const dir = new URL(`${run}/keys/${who}/`, ROOT);
    const files = await readdir(dir);
    const privateFile = files.find((name) => name.startsWith("private-key-"));
    const publicFile = files.find((name) => name.startsWith("public-key-"));
    if (!privateFile || !publicFile) throw new Error(`keys missing in ${run}/${who}`);
    const privateArmored = await readFile(new URL(privateFile, dir), "utf8");
    const publicKey = await openpgp.readKey({ armoredKey: await readFile(new URL(publicFile, dir), "utf8") });
    const identity = await identityFromArmored(privateArmored, addr);
    return { addr, privateArmored, publicKey, identity, fingerprint: identity.fingerprint };
  };
  const securejoin = JSON.parse(await fixtureText(`${run}/keys/securejoin.json`)) as SecureJoinData;
  return { A: await party("A", "alice@chat.test"), B: await party("B", "bob@chat.test"), securejoin };
}
