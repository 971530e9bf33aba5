// The bot's OpenPGP identity: one key per bot address, created once and never replaced, because
// Delta Chat contacts are addr + fingerprint (PROTOCOL §0.4). The key file is the only secret the host
// keeps on disk: folders 0700, file 0600, written so that a crash or a second process never leaves a
// half-written or a second key.
import { randomBytes } from "node:crypto";
import { chmod, link, open, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { isAccountAddress } from "../../../core/address.js";
import { ChatbotError } from "../../../core/errors.js";
import { mkdirDurable, syncDir } from "../../spool/durable-fs.js";
import { fingerprintOf } from "./autocrypt.js";
import { ParsedFileCache } from "../../storage/parsed-file-cache.js";

/** The bot's keys and the forms of its public key the wire needs. */
export interface BotIdentity {
  addr: string;
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  /** 40 hex digits, UPPERCASE. */
  fingerprint: string;
  /** The binary transferable public key, base64, for the Autocrypt header's keydata. */
  keydataBase64: string;
}

function checkAddr(addr: string): void {
  if (!isAccountAddress(addr)) throw new ChatbotError("E_CONFIG", `"${addr}" is not a usable bot address.`);
}

/**
 * A new armored private key like Delta Chat core's create_keypair: v4 Ed25519 primary (certify+sign,
 * no signing subkey) + Cv25519 encryption subkey, user ID "<addr>", unprotected. aeadProtect stays
 * false so the key advertises SEIPDv1 only and senders keep using it.
 */
export async function generateBotKeyArmored(addr: string): Promise<string> {
  checkAddr(addr);
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ email: addr }],
    format: "armored",
    config: { aeadProtect: false, v6Keys: false },
  });
  return privateKey;
}

/** The identity in an armored private key; E_CONFIG when it is protected or cannot sign with its primary. */
export async function identityFromArmored(armoredPrivateKey: string, addr: string): Promise<BotIdentity> {
  let privateKey: openpgp.PrivateKey;
  try {
    privateKey = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
  } catch (error) {
    throw new ChatbotError("E_CONFIG", `The key of ${addr} is not an OpenPGP private key.`, { cause: error });
  }
  if (!privateKey.isDecrypted()) {
    throw new ChatbotError("E_CONFIG", `The key of ${addr} is passphrase-protected; the host needs it unprotected.`);
  }
  try {
    // Core verifies signatures against the primary key only (PROTOCOL §0.4).
    await privateKey.getSigningKey(privateKey.getKeyID());
    await privateKey.getEncryptionKey();
  } catch (error) {
    throw new ChatbotError("E_CONFIG", `The key of ${addr} cannot sign with its primary key or cannot decrypt.`, { cause: error });
  }
  const publicKey = privateKey.toPublic();
  return {
    addr,
    privateKey,
    publicKey,
    fingerprint: fingerprintOf(privateKey),
    keydataBase64: Buffer.from(publicKey.write()).toString("base64"),
  };
}

/** Make `path` a folder only its owner can use; returns true when it had to tighten the mode. */
async function ensurePrivateDir(path: string): Promise<boolean> {
  await mkdirDurable(path); // a new folder is fsynced into its parent, like the key file into it
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return false;
  await chmod(path, 0o700);
  return true;
}

/** Write `text` to `file` only if it does not exist yet: temp file, fsync, hard link (no clobber), fsync dir. */
async function createExclusive(file: string, folder: string, text: string): Promise<boolean> {
  const temp = join(folder, `.key.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // rename() would replace a key another process created meanwhile; link() fails instead.
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(temp);
  }
  await syncDir(folder);
  return true;
}

/** How many identities the cache keeps (~11 KiB each: two curve25519 keys and their signatures). */
export const IDENTITY_CACHE_MAX = 1024;
/**
 * Identities read from key files, by path (storage/parsed-file-cache.ts): a bot the pipeline loads
 * again (bot-registry.ts evicts idle ones) skips openpgp.js's parse and key checks, 3.7 ms of CPU
 * of a load's 5.9 (measured). A key file is written once and never replaced; one replaced anyway
 * (a restore) is read anew. The identity is shared by the loads: nothing changes a key object.
 * Up to IDENTITY_CACHE_MAX of them.
 */
const readIdentities = new ParsedFileCache<BotIdentity>(IDENTITY_CACHE_MAX, () => 1, true);

/**
 * The bot's identity from `<dir>/<addr>/key.asc`, created on first use. An existing key is never
 * replaced; looser permissions of the folders or the file are tightened (0700/0600) and reported
 * through `log`.
 */
export async function loadOrCreateIdentity(dir: string, addr: string, log: (message: string) => void = () => {}): Promise<BotIdentity> {
  checkAddr(addr);
  const folder = join(dir, addr);
  for (const path of [dir, folder]) {
    if (await ensurePrivateDir(path)) log(`chatbot: ${path} was readable by others; its mode is now 0700.`);
  }
  const file = join(folder, "key.asc");
  // Taken before the read: a file replaced after it is read again next time, never the other way.
  const before = await stat(file).catch(() => undefined);
  // A file others may read goes the long way, which tightens its mode and says so.
  const stamp = before && (before.mode & 0o077) === 0 ? before : undefined;
  const known = stamp && readIdentities.get(file, stamp);
  if (known) return known;
  let armored: string;
  try {
    armored = await readExisting(file, log);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const created = await generateBotKeyArmored(addr);
    // Lost a race with another process: use the key it wrote.
    armored = (await createExclusive(file, folder, created)) ? created : await readExisting(file, log);
  }
  const identity = await identityFromArmored(armored, addr);
  if (stamp) readIdentities.keep(file, stamp, identity);
  return identity;
}

/** The armored key in `file`, after tightening a mode that lets others read it. */
async function readExisting(file: string, log: (message: string) => void): Promise<string> {
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    await chmod(file, 0o600);
    log(`chatbot: ${file} was readable by others (mode ${mode.toString(8)}); its mode is now 0600.`);
  }
  return readFile(file, "utf8");
}
