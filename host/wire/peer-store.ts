// What the bot knows about the people who write to it: address → key (from Autocrypt and
// Autocrypt-Gossip headers) and whether SecureJoin verified it. Per bot a JSON snapshot and a log
// of the changes since it (storage/json-log.ts: peers.json and peers.json.log), read once and kept
// in memory (this store must be the only writer of its files): a change appends one line, so a new
// peer costs the same whether the bot knows ten or ten thousand (rewriting the whole file made each
// first contact cost O(peers), ~7 MB of JSON for 10 000 peers; the snapshot is rewritten every
// JSON_LOG_COMPACT_LINES changes). A key seen again unchanged is written at most once a day
// (PEER_REFRESH_MS), not on every mail that carries it. Gossip only fills in addresses the bot has
// no key of their own for (as core prefers a peer's own key over what others gossip), all of one
// mail in one line, and at most GOSSIP_PEERS_MAX of them.
import type * as openpgp from "openpgp";
import { GOSSIP_PEERS_MAX } from "../../core/limits.js";
import { JsonLog } from "../storage/json-log.js";
import { Serial } from "../policy/serial.js";
import { parsedPeerKey } from "./pgp/peer-keys.js";
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
  /** Learned from another member's Autocrypt-Gossip, not from the peer: its own key replaces it. */
  gossip?: true;
}

/** A key another member gossiped for an address (parsed and checked by the caller). */
export interface GossipedKey {
  addr: string;
  fingerprint: string;
  keydataBase64: string;
}

/** An unchanged key is rewritten (updatedAt) at most this often, ms. */
const PEER_REFRESH_MS = 24 * 60 * 60 * 1000;

/** The peers of one bot, keyed by lowercased address. */
export class PeerStore {
  private readonly serial = new Serial();
  private readonly log: JsonLog<Record<string, Peer>, Peer[]>;
  private peers: Record<string, Peer> | undefined;
  private snapshotExists = false;
  /** How many of `peers` came from gossip alone (kept as they change, not counted per mail). */
  private gossiped = 0;

  constructor(
    file: string,
    private readonly clock: Clock,
    /** Peers kept from gossip alone (GOSSIP_PEERS_MAX; smaller in tests). */
    private readonly gossipPeersMax: number = GOSSIP_PEERS_MAX,
  ) {
    this.log = new JsonLog(file);
  }

  private async load(): Promise<Record<string, Peer>> {
    if (this.peers) return this.peers;
    const { snapshot, lines } = await this.log.read();
    this.snapshotExists = snapshot !== undefined;
    // A null prototype: an address is data, never a key such as "__proto__" that changes the object.
    const peers: Record<string, Peer> = Object.assign(Object.create(null) as Record<string, Peer>, snapshot);
    // Lines in order, the last for an address wins: one the snapshot holds already (a crash
    // between its rename and the log's truncation) is applied again to the same result.
    for (const line of lines) for (const peer of line) peers[peer.addr] = peer;
    this.gossiped = Object.values(peers).filter((peer) => peer.gossip).length;
    this.peers = peers;
    return peers;
  }

  /** Store `changed` (durably, then in memory): one log line, or a new snapshot when the log is due for one. */
  private async save(all: Record<string, Peer>, changed: Peer[]): Promise<void> {
    if (this.log.wantsSnapshot(this.snapshotExists)) {
      await this.log.snapshot({ ...all, ...Object.fromEntries(changed.map((peer) => [peer.addr, peer])) });
      this.snapshotExists = true;
    } else {
      await this.log.append(changed);
    }
    for (const peer of changed) {
      if (all[peer.addr]?.gossip) this.gossiped -= 1;
      if (peer.gossip) this.gossiped += 1;
      all[peer.addr] = peer;
    }
  }

  /** The peer with this address, if known. */
  get(addr: string): Promise<Peer | undefined> {
    return this.serial.run(async () => {
      const peer = (await this.load())[addr.toLowerCase()];
      return peer && { ...peer };
    });
  }

  /** Keydata as a checked public key (pgp/peer-keys.ts: parsed once for every bot). Rejects like publicKeyFromKeydata. */
  key(keydataBase64: string): Promise<openpgp.PublicKey> {
    return parsedPeerKey(keydataBase64, this.clock.now());
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
      const unchanged = old && sameKey && !old.gossip && old.keydataBase64 === keydataBase64 && old.verified === verified;
      if (unchanged && now - old.updatedAt < PEER_REFRESH_MS) return { ...old };
      const peer: Peer = { addr: key, fingerprint, keydataBase64, verified, updatedAt: now };
      await this.save(all, [peer]);
      return { ...peer };
    });
  }

  /**
   * Keys other members gossiped, in one write: an address the bot has no key for is added (marked
   * `gossip`) while fewer than `gossipPeersMax` peers come from gossip alone, and a key that itself
   * came from gossip is replaced by a newer one; a key the peer announced itself or SecureJoin
   * verified stays (a sender could otherwise hand the bot a key for someone else). Resolves to the
   * number added or replaced.
   */
  rememberGossiped(keys: readonly GossipedKey[]): Promise<number> {
    return this.serial.run(async () => {
      const all = await this.load();
      let gossiped = this.gossiped;
      const changed = new Map<string, Peer>();
      const now = this.clock.now();
      for (const { addr, fingerprint, keydataBase64 } of keys) {
        const key = addr.toLowerCase();
        if (changed.has(key)) continue; // the first for an address in one call, as inbound.ts takes the first header
        const old = all[key];
        if (!gossipChanges(old, keydataBase64)) continue;
        if (!old && gossiped >= this.gossipPeersMax) continue;
        if (!old) gossiped += 1;
        changed.set(key, { addr: key, fingerprint, keydataBase64, verified: false, updatedAt: now, gossip: true });
      }
      if (changed.size === 0) return 0;
      await this.save(all, [...changed.values()]);
      return changed.size;
    });
  }

  /** Whether gossip of `keydataBase64` for `addr` would change anything (rememberGossiped): no key yet, or another gossiped one. */
  takesGossip(addr: string, keydataBase64: string): Promise<boolean> {
    return this.serial.run(async () => {
      return gossipChanges((await this.load())[addr.toLowerCase()], keydataBase64);
    });
  }
}

/** Whether gossip of `keydataBase64` may change `old`: no key yet, or another key that itself came from gossip. */
function gossipChanges(old: Peer | undefined, keydataBase64: string): boolean {
  return old === undefined || (old.gossip === true && old.keydataBase64 !== keydataBase64);
}
