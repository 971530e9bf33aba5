// Group membership from incoming Chat-Group-* headers (PROTOCOL §3): the bot being added or
// removed, members added, removed or leaving, and renames. A message into a group the bot is not
// (or no longer) in is ignored.
import type { DeltaInner } from "./mime/parse-inner.js";
import { isValidGroupId, type Group } from "./group-store.js";
import type { BotAccount } from "./bot-account.js";

/** What a group header set means for the bot. */
export type GroupOutcome = { kind: "ignore"; reason: string } | { kind: "update-only"; log: string } | { kind: "message"; group: Group };

/** Apply the group headers of `inner` (sent by `sender`) to the bot's group store. */
export async function applyGroupHeaders(account: BotAccount, inner: DeltaInner, sender: string): Promise<GroupOutcome> {
  const header = inner.group!;
  if (!isValidGroupId(header.id)) return { kind: "ignore", reason: `invalid group id "${header.id}"` };
  const self = account.addr.toLowerCase();
  const existing = await account.groups.get(header.id);
  const removed = header.memberRemoved?.toLowerCase();
  const added = header.memberAdded?.toLowerCase();

  if (added === self) {
    const members = [sender, ...inner.to.map((t) => t.addr)];
    const group = await account.groups.update(header.id, (g) => ({ ...g, name: header.name ?? g.name, members: [...g.members, ...members], left: false }));
    return { kind: "update-only", log: `added to group "${group.name}" (${group.id}) by ${sender}` };
  }
  // A group created with the bot in it before anything was sent has no member-added header: its
  // first message lists the bot in To (core creates the group on the same rule).
  const inTo = inner.to.some((t) => t.addr.toLowerCase() === self);
  if (!existing && inTo) {
    const group = await account.groups.update(header.id, (g) => ({
      ...g,
      name: header.name ?? "",
      members: [sender, ...inner.to.map((t) => t.addr)],
      left: false,
    }));
    return { kind: "message", group };
  }
  if (!existing || existing.left) return { kind: "ignore", reason: `message for group ${header.id}, which the bot is not in` };
  if (!existing.members.includes(sender)) return { kind: "ignore", reason: `${sender} is not a member of group ${header.id}` };

  if (removed === self) {
    await account.groups.update(header.id, (g) => ({ ...g, left: true }));
    return { kind: "update-only", log: `removed from group ${header.id} by ${sender}` };
  }
  if (removed) {
    await account.groups.update(header.id, (g) => ({ ...g, members: g.members.filter((m) => m !== removed) }));
    return { kind: "update-only", log: removed === sender ? `${sender} left group ${header.id}` : `${removed} removed from group ${header.id}` };
  }
  if (added) {
    await account.groups.update(header.id, (g) => ({ ...g, members: [...g.members, added] }));
    return { kind: "update-only", log: `${added} added to group ${header.id}` };
  }
  if (header.nameChanged !== undefined && header.name) {
    await account.groups.update(header.id, (g) => ({ ...g, name: header.name! }));
    return { kind: "update-only", log: `group ${header.id} renamed to "${header.name}"` };
  }
  const group = header.name && header.name !== existing.name ? await account.groups.update(header.id, (g) => ({ ...g, name: header.name! })) : existing;
  return { kind: "message", group };
}
