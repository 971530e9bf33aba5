// SecureJoin tokens of one bot: the invitenumber (i=) and auth (s=) secrets of its invite links.
// One pair for the bot's own contact invite and one per group invite; kept in a JSON file
// readable only by the host user, written atomically.
import { randomBytes } from "node:crypto";
import { readJsonFile, writeJsonFile } from "../../storage/json-file.js";
import type { Clock } from "../../../core/clock.js";

/** A token pair; `groupId` is set for group invites. */
export interface InviteTokens {
  invitenumber: string;
  auth: string;
  groupId?: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** A token as core makes them: 18 random bytes, URL-safe base64 (24 characters). */
export function newToken(): string {
  return randomBytes(18).toString("base64url");
}

/** The token file of one bot: read on demand, written atomically with mode 0600. */
export class TokenStore {
  constructor(
    private readonly file: string,
    private readonly clock: Clock,
  ) {}

  private readAll(): Promise<InviteTokens[]> {
    return readJsonFile<InviteTokens[]>(this.file, []);
  }

  private writeAll(tokens: InviteTokens[]): Promise<void> {
    return writeJsonFile(this.file, tokens);
  }

  /** The tokens of the contact invite (no group) or of a group's invite, created on first use. */
  async forInvite(groupId?: string): Promise<InviteTokens> {
    const all = await this.readAll();
    const found = all.find((t) => t.groupId === groupId);
    if (found) return found;
    const created: InviteTokens = { invitenumber: newToken(), auth: newToken(), createdAt: this.clock.now(), ...(groupId ? { groupId } : {}) };
    await this.writeAll([...all, created]);
    return created;
  }

  /** The pair whose invitenumber matches (legacy vc-request / vg-request). */
  async byInvitenumber(invitenumber: string): Promise<InviteTokens | undefined> {
    return (await this.readAll()).find((t) => t.invitenumber === invitenumber);
  }

  /** The pair whose auth matches (vc-request-with-auth). */
  async byAuth(auth: string): Promise<InviteTokens | undefined> {
    return (await this.readAll()).find((t) => t.auth === auth);
  }

  /** Every auth secret, for trying the v3 symmetric request's password. */
  async allAuths(): Promise<string[]> {
    return (await this.readAll()).map((t) => t.auth);
  }
}
