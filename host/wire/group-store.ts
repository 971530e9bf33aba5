// The groups a bot is in: id, name and members, kept from Chat-Group-* headers and gossip
// (PROTOCOL §3). One JSON file per bot, bounded (any sender can start a group): GROUP_NAME_MAX_CHARS
// of a name, GROUP_MEMBERS_MAX members a group, GROUP_STORE_MAX_BYTES in all, the groups changed
// longest ago forgotten first. A parsed file is kept between calls while the file is the same one
// (storage/parsed-file-cache.ts; every write replaces it by rename, `host qr`'s too), up to
// PARSED_GROUP_FILES_MAX_BYTES of them in this process: reading the file at every group message
// cost ~25 ms of CPU for 2 MiB, and any sender can fill the store to its cap.
import { randomBytes } from "node:crypto";
import { GROUP_MEMBERS_MAX, GROUP_NAME_MAX_CHARS, GROUP_STORE_MAX_BYTES, PARSED_GROUP_FILES_MAX_BYTES } from "../../core/limits.js";
import { readJsonFile, writePrivateFile } from "../storage/json-file.js";
import { ParsedFileCache, sameFile } from "../storage/parsed-file-cache.js";
import { statIfPresent } from "../spool/file-io.js";
import type { Clock } from "../../core/clock.js";

/** A group as the bot knows it. Members never include the bot itself. */
export interface Group {
  /** URL-safe base64, 11–32 characters (core's rule). */
  id: string;
  name: string;
  members: string[];
  /** True when the bot was removed or left: it must not write to the group any more. */
  left: boolean;
  updatedAt: number;
}

/** A new group id like core's: 18 random bytes, URL-safe base64 (24 characters). */
export function newGroupId(): string {
  return randomBytes(18).toString("base64url");
}

/** True for a group id core would accept. */
export function isValidGroupId(id: string): boolean {
  return /^[A-Za-z0-9_-]{11,32}$/.test(id);
}

/** Parsed group files by path, weighed by their bytes. */
const parsedFiles = new ParsedFileCache<Record<string, Group>>(PARSED_GROUP_FILES_MAX_BYTES, (stamp) => stamp.size);

/** A copy the caller may change without changing the kept one. */
const copyOf = (group: Group): Group => ({ ...group, members: [...group.members] });

/** The groups of one bot. */
export class GroupStore {
  constructor(
    private readonly file: string,
    private readonly botAddr: string,
    private readonly clock: Clock,
    /** GROUP_STORE_MAX_BYTES (smaller in tests). */
    private readonly maxBytes: number = GROUP_STORE_MAX_BYTES,
  ) {}

  /** The parsed file: the kept one while the file is unchanged, else read (and kept). Never changed by callers. */
  private async load(): Promise<Record<string, Group>> {
    const before = await statIfPresent(this.file);
    if (!before) {
      parsedFiles.forget(this.file);
      return {};
    }
    const kept = parsedFiles.get(this.file, before);
    if (kept) return kept;
    const all = await readJsonFile<Record<string, Group>>(this.file, {});
    // Kept only when the file stayed the same one across the read (no writer replaced it meanwhile).
    const after = await statIfPresent(this.file);
    if (after && sameFile(after, before)) parsedFiles.keep(this.file, after, all);
    else parsedFiles.forget(this.file);
    return all;
  }

  /** The group with this id, if the bot knows it. */
  async get(id: string): Promise<Group | undefined> {
    const all = await this.load();
    const group = Object.hasOwn(all, id) ? all[id] : undefined;
    return group && copyOf(group);
  }

  /** The group the bot is in (not left) with exactly this name, if any. */
  async findByName(name: string): Promise<Group | undefined> {
    const group = Object.values(await this.load()).find((g) => g.name === name && !g.left);
    return group && copyOf(group);
  }

  /** Create or change a group; `change` gets a copy and returns the new version. */
  async update(id: string, change: (group: Group) => Group): Promise<Group> {
    if (!isValidGroupId(id)) throw new Error(`"${id}" is not a valid group id`);
    // A copy: the kept parse must not change unless the write succeeds.
    const all: Record<string, Group> = { ...(await this.load()) };
    const current: Group = all[id] ?? { id, name: "", members: [], left: false, updatedAt: this.clock.now() };
    const next = change({ ...current, members: [...current.members] });
    const self = this.botAddr.toLowerCase();
    // Members it had first, then new ones, up to GROUP_MEMBERS_MAX; stored sorted.
    const members = [...new Set(next.members.map((m) => m.toLowerCase()))]
      .filter((m) => m !== self)
      .slice(0, GROUP_MEMBERS_MAX)
      .sort();
    const stored: Group = { ...next, id, name: next.name.slice(0, GROUP_NAME_MAX_CHARS), members, updatedAt: this.clock.now() };
    all[id] = stored;
    // Compact JSON, stringified once when it fits (it did pretty-printed, and sized each group apart first).
    let text = JSON.stringify(all);
    if (text.length > this.maxBytes) text = JSON.stringify(forgetOldest(all, id, this.maxBytes));
    parsedFiles.forget(this.file);
    await writePrivateFile(this.file, text);
    const stats = await statIfPresent(this.file);
    if (stats) parsedFiles.keep(this.file, stats, all);
    return copyOf(stored);
  }
}

/** `all` cut to `maxBytes` of compact JSON by forgetting the groups changed longest ago, never `keep`. */
function forgetOldest(all: Record<string, Group>, keep: string, maxBytes: number): Record<string, Group> {
  const size = (group: Group) => JSON.stringify(group).length + JSON.stringify(group.id).length + 2;
  let total = Object.values(all).reduce((sum, group) => sum + size(group), 2);
  if (total <= maxBytes) return all;
  for (const group of Object.values(all).sort((a, b) => a.updatedAt - b.updatedAt)) {
    if (total <= maxBytes) break;
    if (group.id === keep) continue;
    total -= size(group);
    delete all[group.id];
  }
  return all;
}
