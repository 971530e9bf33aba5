// The groups a bot is in: id, name and members, kept from Chat-Group-* headers and gossip
// (PROTOCOL §3). One JSON file per bot, bounded (any sender can start a group): GROUP_NAME_MAX_CHARS
// of a name, GROUP_MEMBERS_MAX members a group, GROUP_STORE_MAX_BYTES in all, the groups changed
// longest ago forgotten first.
import { randomBytes } from "node:crypto";
import { GROUP_MEMBERS_MAX, GROUP_NAME_MAX_CHARS, GROUP_STORE_MAX_BYTES } from "../../core/limits.js";
import { readJsonFile, writeJsonFile } from "../storage/json-file.js";
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

/** The groups of one bot. */
export class GroupStore {
  constructor(
    private readonly file: string,
    private readonly botAddr: string,
    private readonly clock: Clock,
    /** GROUP_STORE_MAX_BYTES (smaller in tests). */
    private readonly maxBytes: number = GROUP_STORE_MAX_BYTES,
  ) {}

  private load(): Promise<Record<string, Group>> {
    return readJsonFile<Record<string, Group>>(this.file, {});
  }

  /** The group with this id, if the bot knows it. */
  async get(id: string): Promise<Group | undefined> {
    return (await this.load())[id];
  }

  /** The group the bot is in (not left) with exactly this name, if any. */
  async findByName(name: string): Promise<Group | undefined> {
    return Object.values(await this.load()).find((g) => g.name === name && !g.left);
  }

  /** Create or change a group; `change` gets a copy and returns the new version. */
  async update(id: string, change: (group: Group) => Group): Promise<Group> {
    if (!isValidGroupId(id)) throw new Error(`"${id}" is not a valid group id`);
    const all = await this.load();
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
    await writeJsonFile(this.file, forgetOldest(all, id, this.maxBytes));
    return stored;
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
