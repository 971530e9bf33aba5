// The messages between `host serve`'s door (pipeline-door.ts) and its pipeline process
// (pipeline-process.ts), over node's IPC channel (JSON). Both ends are this program, but a message
// is still checked before it is used: a wrong one is a bug to report, not a value to trust.
import type { NoticeKind } from "./author-notices.js";
import type { HostEvent } from "./host-event.js";

/** The environment variable that hands the walls the door found to its pipeline process (JSON). */
export const PIPELINE_WALLS_ENV = "CHATBOT_PIPELINE_WALLS";

/** Door → pipeline. */
export type ToPipeline =
  /** Something was spooled (LMTP, `host deliver`) or the deploy inbox changed; `seq` counts pokes. */
  | { t: "poke"; seq: number }
  /** Tell an author (failing-bots.ts decides in the door; the notice is composed and sent here). */
  | { t: "notify"; id: number; account: string; kind: NoticeKind; text: string }
  /** Stop after the entry in progress (the door is stopping). */
  | { t: "stop" };

/** Pipeline → door. */
export type ToDoor =
  /** One event for the host's log (the door writes it, counts it in the metrics, and shows it to failing-bots.ts). */
  | { t: "log"; event: HostEvent }
  /** Started: the drain loop, the timers and the watchers run. */
  | { t: "ready" }
  /** Could not start; `code` is the ChatbotError code (the door exits with it on its first start). */
  | { t: "failed"; code: string; message: string }
  /**
   * Resting: it exits now. Start it again at `nextDueAt` (ms since the epoch; null: nothing due),
   * or for any poke after `pokesSeen` and any notice after `noticesSeen`.
   */
  | { t: "rest"; nextDueAt: number | null; pokesSeen: number; noticesSeen: number };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The message if it is one a door sends, else undefined. */
export function toPipeline(value: unknown): ToPipeline | undefined {
  if (!isObject(value)) return undefined;
  if (value.t === "poke" && Number.isSafeInteger(value.seq)) return value as ToPipeline;
  if (value.t === "stop") return value as ToPipeline;
  if (
    value.t === "notify" &&
    Number.isSafeInteger(value.id) &&
    typeof value.account === "string" &&
    typeof value.kind === "string" &&
    typeof value.text === "string"
  )
    return value as ToPipeline;
  return undefined;
}

/** The message if it is one a pipeline sends, else undefined. */
export function toDoor(value: unknown): ToDoor | undefined {
  if (!isObject(value)) return undefined;
  if (value.t === "log" && isObject(value.event) && typeof value.event.event === "string") return value as ToDoor;
  if (value.t === "ready") return value as ToDoor;
  if (value.t === "failed" && typeof value.code === "string" && typeof value.message === "string") return value as ToDoor;
  if (
    value.t === "rest" &&
    (value.nextDueAt === null || Number.isFinite(value.nextDueAt)) &&
    Number.isSafeInteger(value.pokesSeen) &&
    Number.isSafeInteger(value.noticesSeen)
  )
    return value as ToDoor;
  return undefined;
}
