// Test support for the SecureJoin responder tests on recorded captures: a bot account built from
// the recorded inviter's (Bob's) key, holding the recorded invite's tokens, with every store in a
// fresh directory — so the host must answer each recorded step exactly as core's inviter did.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BotAccount } from "../../../../host/wire/bot-account.js";
import type { BotIdentity } from "../../../../host/wire/pgp/identity.js";
import { TokenStore } from "../../../../host/wire/securejoin/token-store.js";
import { PeerStore } from "../../../../host/wire/peer-store.js";
import { GroupStore } from "../../../../host/wire/group-store.js";
import { SeenStore } from "../../../../host/wire/seen-store.js";
import { LoopGuard } from "../../../../host/policy/loop-guard.js";
import { SentStore } from "../../../../host/wire/sent-store.js";
import { PendingStore } from "../../../../host/wire/pending-store.js";
import { writeJsonFile } from "../../../../host/storage/json-file.js";

/** Bob's bot account with `tokens` as its one invite (none when undefined). */
export async function recordedInviterAccount(identity: BotIdentity, tokens: { invitenumber: string; auth: string } | undefined): Promise<BotAccount> {
  const dir = mkdtempSync(join(tmpdir(), "recorded-inviter-"));
  const now = () => Date.now();
  const clock = { now };
  if (tokens) await writeJsonFile(join(dir, "securejoin.json"), [{ ...tokens, createdAt: now() }]);
  return {
    addr: "bob@chat.test",
    name: "Bob Bot",
    identity,
    tokens: new TokenStore(join(dir, "securejoin.json"), clock),
    peers: new PeerStore(join(dir, "peers.json"), clock),
    groups: new GroupStore(join(dir, "groups.json"), "bob@chat.test", clock),
    seen: new SeenStore(join(dir, "seen.json"), clock),
    sent: new SentStore(dir, clock),
    pending: new PendingStore(join(dir, "pending"), clock),
    exchanges: new LoopGuard(join(dir, "exchanges.json"), clock),
    isHostBot: () => false,
    now,
  };
}
