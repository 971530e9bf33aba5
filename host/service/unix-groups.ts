// Unix group names and ids from /etc/group, for the LMTP socket's group (`lmtpSocketGroup`) and `host setup`.
import { readFileSync } from "node:fs";
import { ChatbotError } from "../../core/errors.js";

/** The [name, gid] pairs of /etc/group. */
function groups(): Array<[string, number]> {
  return readFileSync("/etc/group", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 3 && fields[0] !== "")
    .map((fields) => [fields[0]!, Number(fields[2])]);
}

/** The numeric id of a group by name, undefined when the machine has no such group. */
export function findGroupId(name: string): number | undefined {
  const gid = groups().find(([group]) => group === name)?.[1];
  return gid !== undefined && Number.isInteger(gid) ? gid : undefined;
}

/** The numeric id of a group by name; E_CONFIG when the machine has no such group. */
export function groupId(name: string): number {
  const gid = findGroupId(name);
  if (gid === undefined) throw new ChatbotError("E_CONFIG", `host.json: lmtpSocketGroup "${name}" is not a group on this machine`);
  return gid;
}

/** A group's name for messages: its name in /etc/group, else the number. */
export function groupName(gid: number): string {
  return groups().find(([, id]) => id === gid)?.[0] ?? String(gid);
}
