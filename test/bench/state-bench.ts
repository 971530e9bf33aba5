// Section 17 of `make bench` (issue 15 part 2: an event costs what its crypto and sandbox cost,
// whatever the bot keeps): a bot's state held by its runner (host/executor/state-cache.ts). Through
// one Executor, the runner's and this process's CPU per event for a ~900 KiB state of 1 000 keys,
// sent with every event (no stateToken: how every event went before, except that an event that
// changes the state now sends back only the changes either way) and held by the runner (a token,
// and for a bot that writes, the token its result names), for a bot that only reads one key and
// for one that writes one key at every event, beside an empty state. Then the pipeline in process
// (pipeline-drain.ts): the echo bot against a bot writing one key into a state of as many keys,
// mails drained from a real spool — the whole event's cost on the host's side, where the spool
// journal had written such a state three times per event (plan-journal.ts).
import { bigState, measurePipelineDrain, type DrainResult } from "./pipeline-drain.js";
import { Executor } from "../../host/executor/executor.js";
import type { RunResult } from "../../host/executor/run-types.js";
import { botWithMessageHandler, request } from "../support/sandbox.js";
import { treeCpuMs } from "./proc.js";

/** CPU per event, ms: of the runner process (worker included) and of this process. */
export interface StateCpu {
  runner: number;
  host: number;
}

export interface StateBenchResult {
  keys: number;
  /** JSON characters of the large state. */
  stateChars: number;
  events: number;
  empty: StateCpu;
  reader: { sent: StateCpu; held: StateCpu };
  writer: { sent: StateCpu; held: StateCpu };
  /** The same kind of state through the pipeline in process (pipeline-drain.ts): the echo bot, and a bot writing one key into it. */
  pipeline: { echo: DrainResult; writer: DrainResult };
}

/** Mails of each pipeline round (section 17's last lines): ~10 s a round on this machine. */
const PIPELINE_MAILS = 150;

const READER = botWithMessageHandler(`await bot.reply("k0 is " + ((await bot.state.get("key0")) ?? "").length + " long");`);
const WRITER = botWithMessageHandler(`const n = (await bot.state.get("n")) ?? 0; await bot.state.set("n", n + 1); await bot.reply("n=" + n);`);

/** `events` events after 20 untimed, each starting from the state the one before left (as the host saves it). */
async function measure(executor: Executor, bundle: typeof READER, start: Record<string, string>, hold: boolean, events: number): Promise<StateCpu> {
  const pid = executor.runnerPids()[0]!;
  let state = start;
  let token: string | undefined = hold ? `bench-${Math.random()}` : undefined;
  const step = async () => {
    const result: RunResult = await executor.run(request(bundle, { state, ...(token !== undefined ? { stateToken: token } : {}) }));
    if (result.status !== "ok") throw new Error(`state bench: ${result.status} ${result.error?.message ?? ""}`);
    if (result.state) {
      state = result.state;
      token = hold ? (result.stateToken ?? `bench-${Math.random()}`) : undefined;
    }
  };
  for (let i = 0; i < 20; i++) await step();
  const runner0 = treeCpuMs(pid);
  const host0 = process.cpuUsage();
  for (let i = 0; i < events; i++) await step();
  const host = process.cpuUsage(host0);
  return { runner: (treeCpuMs(pid) - runner0) / events, host: (host.user + host.system) / 1000 / events };
}

export async function measureStateCache(keys = 1000, events = 200): Promise<StateBenchResult> {
  const executor = new Executor({ concurrency: 1 });
  await executor.warmUp();
  try {
    const state = bigState(keys);
    return {
      keys,
      stateChars: JSON.stringify(state).length,
      events,
      empty: await measure(executor, READER, {}, true, events),
      reader: { sent: await measure(executor, READER, state, false, events), held: await measure(executor, READER, state, true, events) },
      writer: { sent: await measure(executor, WRITER, state, false, events), held: await measure(executor, WRITER, state, true, events) },
      pipeline: {
        echo: await measurePipelineDrain({ mails: PIPELINE_MAILS }),
        writer: await measurePipelineDrain({ mails: PIPELINE_MAILS, stateKeys: keys }),
      },
    };
  } finally {
    await executor.close();
  }
}
