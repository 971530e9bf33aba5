// What the bot knows about the people who write to it: address → key (from Autocrypt and
// Autocrypt-Gossip headers) and whether SecureJoin verified it. One JSON file per bot.
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";

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

/** The peers of one bot, keyed by lowercased address. */
export class PeerStore {
  constructor(
    private readonly file: string,
    private readonly now: () => number,
  ) {}

  private load(): Promise<Record<string, Peer>> {
    return readJsonFile<Record<string, Peer>>(this.file, {});
  }

  /** The peer with this address, if known. */
  async get(addr: string): Promise<Peer | undefined> {
    return (await this.load())[addr.toLowerCase()];
  }

  /**
   * Remember a key for an address. A verified peer's key is never replaced by an unverified one
   * (that would let anyone who can send mail as the address take over the verified contact).
   */
  async remember(addr: string, fingerprint: string, keydataBase64: string, options: { verified?: boolean } = {}): Promise<Peer> {
    const all = await this.load();
    const key = addr.toLowerCase();
    const old = all[key];
    const sameKey = old?.fingerprint === fingerprint;
    if (old?.verified && !sameKey && !options.verified) return old;
    const peer: Peer = {
      addr: key,
      fingerprint,
      keydataBase64,
      verified: (options.verified ?? false) || (sameKey && (old?.verified ?? false)),
      updatedAt: this.now(),
    };
    all[key] = peer;
    await writeJsonFile(this.file, all);
    return peer;
  }
}
