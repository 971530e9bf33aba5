// Everything the host keeps for one bot account, under <dataDir>/bots/<addr>/ (folders 0700,
// files 0600): its OpenPGP key, SecureJoin tokens, the peers' keys, its groups, the Message-IDs it
// handled, the halves of split (pre-/post-) messages waiting for their other half, and how many
// events each automated sender caused in the last hour (policy/loop-guard.ts).
import { join } from "node:path";
import { loadOrCreateIdentity, type BotIdentity } from "./pgp/identity.js";
import { TokenStore } from "./securejoin/token-store.js";
import { PeerStore } from "./peer-store.js";
import { GroupStore } from "./group-store.js";
import { SeenStore } from "./seen-store.js";
import { SentStore } from "./sent-store.js";
import { PendingStore } from "./pending-store.js";
import { LoopGuard } from "../policy/loop-guard.js";
import { systemClock, type Clock } from "../../core/clock.js";

/** One bot account's identity and stores; it is also their clock (`now()`, ms since the epoch). */
export interface BotAccount extends Clock {
  addr: string;
  /** The display name peers see (From name, invite link `n=`). */
  name: string;
  identity: BotIdentity;
  tokens: TokenStore;
  peers: PeerStore;
  groups: GroupStore;
  seen: SeenStore;
  /** Mails the bot sent recently (for delete and resend). */
  sent: SentStore;
  pending: PendingStore;
  /** Events per automated sender in the last hour: bot-to-bot exchanges stop at a bound. */
  exchanges: LoopGuard;
  /** True when `addr` (lowercased) is another bot this host runs: its mail counts as automated whatever its headers say. */
  isHostBot: (addr: string) => boolean;
}

/** Options of openBotAccount. */
export interface BotAccountOptions {
  /** Which addresses are this host's bots (the service knows its data dir); default: none. */
  isHostBot?: (addr: string) => boolean;
}

/** Open (and on first use create) the bot account `addr` in `dataDir`. */
export async function openBotAccount(
  dataDir: string,
  addr: string,
  name: string,
  clock: Clock = systemClock,
  options: BotAccountOptions = {},
): Promise<BotAccount> {
  const bots = join(dataDir, "bots");
  const identity = await loadOrCreateIdentity(bots, addr);
  const dir = join(bots, addr);
  return {
    addr,
    name,
    identity,
    tokens: new TokenStore(join(dir, "securejoin.json"), clock),
    peers: new PeerStore(join(dir, "peers.json"), clock),
    groups: new GroupStore(join(dir, "groups.json"), addr, clock),
    seen: new SeenStore(join(dir, "seen.json"), clock),
    sent: new SentStore(dir, clock),
    pending: new PendingStore(join(dir, "pending"), clock),
    exchanges: new LoopGuard(join(dir, "exchanges.json"), clock),
    isHostBot: options.isHostBot ?? (() => false),
    // One clock for the account and every store it owns.
    now: () => clock.now(),
  };
}
