// What the bot knows about the people who write to it: address → key (from Autocrypt and
// Autocrypt-Gossip headers) and whether SecureJoin verified it. One JSON file per bot, read once
// and kept in memory (this store must be the only writer of its file); a key seen again unchanged
// is written at most once a day (PEER_REFRESH_MS), not on every mail that carries it.
import type * as openpgp from "openpgp";
import { PARSED_KEYS_MAX, PARSED_KEY_TTL_MS } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
import { Serial } from "../policy/serial.js";
import { publicKeyFromKeydata } from "./pgp/autocrypt.js";
import type { Clock } from "../../core/clock.js";

/** A peer's current key. */
export interface Peer {
  addr: string;
  /** Primary key fingerprint, 40 hex digits, uppercase. */
  fingerprint: string;
  /** The binary public key, base64 (Autocrypt keydata). */
  keydataBase64: string;
  /** True once SecureJoin verified this fingerprint for this address. */
  verified: boolean;
  /** Milliseconds since the epoch of the last update. */
  updatedAt: number;
}

/** An unchanged key is rewritten (updatedAt) at most this often, ms. */
const PEER_REFRESH_MS = 24 * 60 * 60 * 1000;

/** The peers of one bot, keyed by lowercased address. */
export class PeerStore {
  private readonly serial = new Serial();
  private peers: Record<string, Peer> | undefined;
  /** keydata (base64) → the parsed, checked key and when it was parsed; oldest first. */
  private readonly parsed = new Map<string, { key: Promise<openpgp.PublicKey>; at: number }>();

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
  ) {}

  private async load(): Promise<Record<string, Peer>> {
    this.peers ??= await readJsonFile<Record<string, Peer>>(this.file, {});
    return this.peers;
  }

  /** The peer with this address, if known. */
  get(addr: string): Promise<Peer | undefined> {
    return this.serial.run(async () => {
      const peer = (await this.load())[addr.toLowerCase()];
      return peer && { ...peer };
    });
  }

  /**
   * Keydata as a checked public key (autocrypt.ts publicKeyFromKeydata), parsed once per
   * PARSED_KEY_TTL_MS for the last PARSED_KEYS_MAX keys. Rejects like publicKeyFromKeydata.
   */
  async key(keydataBase64: string): Promise<openpgp.PublicKey> {
    const now = this.clock.now();
    const hit = this.parsed.get(keydataBase64);
    if (hit && now - hit.at <= PARSED_KEY_TTL_MS) return hit.key;
    this.parsed.delete(keydataBase64);
    const key = publicKeyFromKeydata(Buffer.from(keydataBase64, "base64"));
    // A key that does not parse is not cached: the next mail gets the same error anyway.
    key.catch(() => this.parsed.delete(keydataBase64));
    this.parsed.set(keydataBase64, { key, at: now });
    for (const old of this.parsed.keys()) {
      if (this.parsed.size <= PARSED_KEYS_MAX) break;
      this.parsed.delete(old);
    }
    return key;
  }

  /**
   * Remember a key for an address. A verified peer's key is never replaced by an unverified one
   * (that would let anyone who can send mail as the address take over the verified contact).
   */
  remember(addr: string, fingerprint: string, keydataBase64: string, options: { verified?: boolean } = {}): Promise<Peer> {
    return this.serial.run(async () => {
      const all = await this.load();
      const key = addr.toLowerCase();
      const old = all[key];
      const sameKey = old?.fingerprint === fingerprint;
      if (old?.verified && !sameKey && !options.verified) return { ...old };
      const now = this.clock.now();
      const verified = (options.verified ?? false) || (sameKey && (old?.verified ?? false));
      if (old && sameKey && old.keydataBase64 === keydataBase64 && old.verified === verified && now - old.updatedAt < PEER_REFRESH_MS) return { ...old };
      const peer: Peer = { addr: key, fingerprint, keydataBase64, verified, updatedAt: now };
      const next = { ...all, [key]: peer };
      await writeJsonFile(this.file, next);
      this.peers = next;
      return { ...peer };
    });
  }
}
