import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorCode } from "../../../support/errors.js";
import { generateBotKeyArmored, identityFromArmored, loadOrCreateIdentity } from "../../../../host/wire/pgp/identity.js";

const ADDR = "echobot42@chat.test";

/** The (only) self-certification of the key's user ID: key flags and features live there. */
function selfSignature(key: openpgp.PrivateKey): openpgp.SignaturePacket {
  const signature = key.users[0]?.selfCertifications[0];
  if (!signature) throw new Error("no self-certification");
  return signature;
}

/** RFC 9580 §5.2.3.32 feature flags. */
const FEATURE = { seipdv1: 0x01, seipdv2: 0x08 };

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("generateBotKeyArmored: a key like Delta Chat core's create_keypair", () => {
  it("has a v4 Ed25519 primary that certifies and signs, one Cv25519 encryption subkey, no signing subkey, user ID <addr>", async () => {
    const key = await openpgp.readPrivateKey({ armoredKey: await generateBotKeyArmored(ADDR) });
    expect(key.isDecrypted()).toBe(true);
    expect(key.keyPacket.version).toBe(4);
    expect(key.getAlgorithmInfo()).toEqual({ algorithm: "eddsaLegacy", curve: "ed25519Legacy" });
    const primarySig = selfSignature(key);
    const flags = openpgp.enums.keyFlags;
    expect(primarySig.keyFlags?.[0]).toBe(flags.certifyKeys | flags.signData);
    expect(key.getUserIDs()).toEqual([`<${ADDR}>`]);

    const subkeys = key.getSubkeys();
    expect(subkeys).toHaveLength(1);
    expect(subkeys[0]!.getAlgorithmInfo()).toEqual({ algorithm: "ecdh", curve: "curve25519Legacy" });
    const binding = subkeys[0]!.bindingSignatures[0]!;
    expect(binding.keyFlags![0]! & (flags.encryptCommunication | flags.encryptStorage)).not.toBe(0);
    expect(binding.keyFlags![0]! & flags.signData).toBe(0);

    // The signing key openpgp.js picks is the primary itself.
    expect((await key.getSigningKey()).getKeyID().equals(key.getKeyID())).toBe(true);
  });

  it("advertises SEIPDv1 only (aeadProtect false), so senders never pick SEIPDv2 for the bot", async () => {
    const key = await openpgp.readPrivateKey({ armoredKey: await generateBotKeyArmored(ADDR) });
    expect(key.users).toHaveLength(1);
    const features = selfSignature(key).features?.[0] ?? 0;
    expect(features & FEATURE.seipdv1).not.toBe(0);
    expect(features & FEATURE.seipdv2).toBe(0);
  });
});

describe("identityFromArmored", () => {
  it("gives the UPPERCASE fingerprint and the binary public certificate (no secret parts) as base64 keydata", async () => {
    const armored = await generateBotKeyArmored(ADDR);
    const identity = await identityFromArmored(armored, ADDR);
    expect(identity.addr).toBe(ADDR);
    expect(identity.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    const fromKeydata = await openpgp.readKey({ binaryKey: Buffer.from(identity.keydataBase64, "base64") });
    expect(fromKeydata.isPrivate()).toBe(false);
    expect(fromKeydata.getFingerprint().toUpperCase()).toBe(identity.fingerprint);
    expect(identity.publicKey.isPrivate()).toBe(false);
  });

  it("refuses a passphrase-protected key and a non-key with E_CONFIG", async () => {
    const privateKey = await openpgp.readPrivateKey({ armoredKey: await generateBotKeyArmored(ADDR) });
    const locked = await openpgp.encryptKey({ privateKey, passphrase: "secret" });
    expect(await errorCode(identityFromArmored(locked.armor(), ADDR))).toBe("E_CONFIG");
    expect(await errorCode(identityFromArmored("not a key", ADDR))).toBe("E_CONFIG");
  });
});

describe("loadOrCreateIdentity: the key file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "chatbot-identity-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates <dir>/<addr>/key.asc with mode 0600 in folders with mode 0700", async () => {
    const data = join(dir, "keys");
    const identity = await loadOrCreateIdentity(data, ADDR);
    const file = join(data, ADDR, "key.asc");
    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(join(data, ADDR))).toBe(0o700);
    expect(await modeOf(data)).toBe(0o700);
    expect((await readFile(file, "utf8")).startsWith("-----BEGIN PGP PRIVATE KEY BLOCK-----")).toBe(true);
    expect(identity.fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it("returns the same fingerprint on the second call: the key is never regenerated", async () => {
    const first = await loadOrCreateIdentity(dir, ADDR);
    const second = await loadOrCreateIdentity(dir, ADDR);
    expect(second.fingerprint).toBe(first.fingerprint);
  });

  it("uses a key that is already there, unchanged", async () => {
    const armored = await generateBotKeyArmored(ADDR);
    await mkdir(join(dir, ADDR), { mode: 0o700 });
    await writeFile(join(dir, ADDR, "key.asc"), armored, { mode: 0o600 });
    const expected = await identityFromArmored(armored, ADDR);
    expect((await loadOrCreateIdentity(dir, ADDR)).fingerprint).toBe(expected.fingerprint);
    expect(await readFile(join(dir, ADDR, "key.asc"), "utf8")).toBe(armored);
  });

  it("two concurrent first calls agree on one key", async () => {
    const [a, b] = await Promise.all([loadOrCreateIdentity(dir, ADDR), loadOrCreateIdentity(dir, ADDR)]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect((await loadOrCreateIdentity(dir, ADDR)).fingerprint).toBe(a.fingerprint);
  });

  it("tightens a key file readable by others to 0600 and a folder to 0700, and says so", async () => {
    const first = await loadOrCreateIdentity(dir, ADDR);
    const file = join(dir, ADDR, "key.asc");
    await chmod(file, 0o644);
    await chmod(join(dir, ADDR), 0o755);
    const notices: string[] = [];
    const again = await loadOrCreateIdentity(dir, ADDR, (message) => notices.push(message));
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(join(dir, ADDR))).toBe(0o700);
    expect(notices).toHaveLength(2);
    expect(notices.join("\n")).toMatch(/0600/);
    expect(notices.join("\n")).toMatch(/0700/);
  });

  it("a key read before is not parsed again while its file is unchanged (the same identity), and read anew when the file was replaced", async () => {
    const first = await loadOrCreateIdentity(dir, ADDR); // created: not kept (no file stat before it)
    const read = await loadOrCreateIdentity(dir, ADDR);
    expect(read.fingerprint).toBe(first.fingerprint);
    expect(await loadOrCreateIdentity(dir, ADDR)).toBe(read);
    // Another key in its place (an operator restoring a backup): a new file, read anew.
    const other = await generateBotKeyArmored(ADDR);
    const file = join(dir, ADDR, "key.asc");
    await writeFile(join(dir, ADDR, "new.asc"), other, { mode: 0o600 });
    await rename(join(dir, ADDR, "new.asc"), file);
    const replaced = await loadOrCreateIdentity(dir, ADDR);
    expect(replaced.fingerprint).toBe((await identityFromArmored(other, ADDR)).fingerprint);
    expect(replaced.fingerprint).not.toBe(read.fingerprint);
    expect(await loadOrCreateIdentity(dir, ADDR)).toBe(replaced);
  });

  it("says nothing when the permissions are already right", async () => {
    await loadOrCreateIdentity(dir, ADDR);
    const notices: string[] = [];
    await loadOrCreateIdentity(dir, ADDR, (message) => notices.push(message));
    expect(notices).toEqual([]);
  });

  it("path traversal: an address with a path separator is refused with E_CONFIG and writes nothing", async () => {
    expect(await errorCode(loadOrCreateIdentity(join(dir, "keys"), "../../etc@x"))).toBe("E_CONFIG");
    expect(await errorCode(loadOrCreateIdentity(join(dir, "keys"), "a/b@chat.test"))).toBe("E_CONFIG");
    await expect(stat(join(dir, "keys"))).rejects.toThrow();
  });
});
