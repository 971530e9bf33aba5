// defineBot: the bot's default export. The host finds it by its marker and calls `dispatch`.
import { BOT_MARKER, type GuestEvent } from "./contract.js";
import type { BotHandlers, Message } from "./types.js";
import { host, asBotError } from "./host.js";
import { makeBot, makeConsole } from "./bot-api.js";

/** What defineBot returns; the host calls `dispatch()` once per isolate. */
export interface BotDefinition {
  readonly kind: typeof BOT_MARKER;
  readonly handlers: Readonly<BotHandlers>;
  dispatch(): Promise<void>;
}

function toMessage(data: Extract<GuestEvent, { kind: "message" }>["message"]): Message {
  const h = host();
  return {
    ...data,
    attachments: data.attachments.map((info, index) => ({
      ...info,
      bytes: async () => {
        try {
          return new Uint8Array(h.attachment(index));
        } catch (error) {
          throw asBotError(error);
        }
      },
    })),
  };
}

/** Declare a bot's handlers (message, tick, webxdc); export the result as default. */
export function defineBot(handlers: BotHandlers): BotDefinition {
  for (const [name, value] of Object.entries(handlers)) {
    if (!["message", "tick", "webxdc"].includes(name)) throw new TypeError(`defineBot: unknown handler "${name}" (message, tick, webxdc)`);
    if (typeof value !== "function") throw new TypeError(`defineBot: handler "${name}" must be a function`);
  }
  return Object.freeze({
    kind: BOT_MARKER,
    handlers: Object.freeze({ ...handlers }),
    async dispatch() {
      const h = host();
      const event = JSON.parse(h.event()) as GuestEvent;
      const bot = makeBot(h, event);
      (globalThis as Record<string, unknown>).console = makeConsole(h);
      switch (event.kind) {
        case "message":
          if (handlers.message) await handlers.message(toMessage(event.message), bot);
          return;
        case "tick":
          if (handlers.tick) await handlers.tick(bot, { at: event.at });
          return;
        case "webxdc":
          if (!handlers.webxdc) return;
          await handlers.webxdc({ ...event.update }, bot);
          // One mail may carry several updates: each gets its own call, with `bot.reply` answering it.
          for (const update of event.more ?? []) await handlers.webxdc({ ...update }, makeBot(h, { kind: "webxdc", update }));
          return;
      }
    },
  });
}
