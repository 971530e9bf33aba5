// Which changes in spool/new are new entries, for the door's watch of that folder (inotify): the
// pipeline is poked for an entry that arrived (`host deliver`, LMTP, a tick), not for its own writes
// there. Before this, each mail's journal rewrite and its two unlinks at completion also poked it
// over the channel, and each poke that came during a pass started another pass (a listing of the
// folder and a read of every meta): ~5 pokes and up to 3 passes a mail (strace, issue 15 part 2).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isEntryId } from "../spool/entry.js";

/**
 * Ids remembered as present in spool/new, at most this many (a backlog larger than this only costs
 * pokes: the set starts over, and an entry seen again is taken for new once). ~60 B an id.
 */
export const SPOOL_ARRIVALS_KNOWN_MAX = 100_000;

export class SpoolArrivals {
  private readonly known = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly maxKnown = SPOOL_ARRIVALS_KNOWN_MAX,
  ) {}

  /**
   * Mark entry `id` as present; true when it was not known (so its arrival is news). The LMTP door
   * calls it for what it spooled, the watch for each meta it sees appear.
   */
  arrived(id: string): boolean {
    if (this.known.has(id)) return false;
    if (this.known.size >= this.maxKnown) this.known.clear();
    this.known.add(id);
    return true;
  }

  /**
   * A change the folder's watch reported (`name` as fs.watch gives it; null when inotify could not
   * say, e.g. its queue overflowed): true when it may be a new entry. A meta (`<id>.json`, renamed in
   * after its mail: spool.ts) that exists and was not known is one; a meta that is gone (completed,
   * dead-lettered) is forgotten; a mail file, a rewritten meta and a stranger are not news.
   */
  changed(name: string | null): boolean {
    if (name === null) return true;
    if (!name.endsWith(".json")) return false;
    const id = name.slice(0, -".json".length);
    if (!isEntryId(id)) return false;
    if (existsSync(join(this.dir, name))) return this.arrived(id);
    this.known.delete(id);
    return false;
  }
}
