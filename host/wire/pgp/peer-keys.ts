// Peers' keys parsed and checked once for every bot of this process: keydata (base64) → the key
// publicKeyFromKeydata made of it, for PARSED_KEY_TTL_MS, the last PARSED_PEER_KEYS_MAX keys. The
// result depends on the keydata alone, so a key one bot parsed serves another, and a bot loaded
// again after its eviction (bot-registry.ts) does not parse its peers' keys again (~1 ms each:
// openpgp's readKey and self-signature checks). One cache per bot held up to 256 keys for each of
// the pipeline's 64 loaded bots and started empty at every load.
import type * as openpgp from "openpgp";
import { PARSED_KEY_TTL_MS, PARSED_PEER_KEYS_MAX } from "../../../core/limits.js";
import { publicKeyFromKeydata } from "./autocrypt.js";
import { WeightedLru } from "../../storage/weighted-lru.js";

/** keydata (base64) → the parsed, checked key and when it was parsed; least recently used first. */
const parsed = new WeightedLru<{ key: Promise<openpgp.PublicKey>; at: number }>({ maxEntries: PARSED_PEER_KEYS_MAX, maxWeight: Number.POSITIVE_INFINITY });

/**
 * `keydataBase64` as a checked public key, parsed again once PARSED_KEY_TTL_MS passed since `now`'s
 * clock parsed it (expiry, revocation). Rejects like publicKeyFromKeydata; a rejection is not kept.
 */
export function parsedPeerKey(keydataBase64: string, now: number): Promise<openpgp.PublicKey> {
  const hit = parsed.take(keydataBase64, ({ at }) => now - at <= PARSED_KEY_TTL_MS);
  if (hit) return hit.key;
  const key = publicKeyFromKeydata(Buffer.from(keydataBase64, "base64"));
  // A key that does not parse is not kept: the next mail gets the same error anyway.
  key.catch(() => {
    if (parsed.take(keydataBase64, (held) => held.key === key)) parsed.forget(keydataBase64);
  });
  parsed.put(keydataBase64, { key, at: now }, 1);
  return key;
}
