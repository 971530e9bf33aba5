// The HostService the part benches (serve-parts.ts, mail-parts.ts) take their bot from: what `host
// serve` builds for the bots in a data directory, on the real clock, with a submitter that sends
// nothing (the parts are measured alone; SMTP is not one of them).
import type { LoadedBotsLimits } from "../../core/limits.js";
import type { Executor } from "../../host/executor/executor.js";
import type { HostLog } from "../../host/service/host-event.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";

/**
 * host.json settings for a burst from one user: the per-user ceilings (seed: 60 mails an hour) and
 * the bot's CPU budget raised, the outbound pacing (50/min, for a real relay's send-rate filter)
 * lifted.
 */
export function burstSettings(): { ceilings: Record<string, unknown>; pacing: Record<string, number> } {
  const lots = 100_000_000;
  return {
    ceilings: {
      perUser: { mailsPerHour: lots, mailsPerDay: lots, bytesPerHour: lots * 100, cpuMsPerHour: lots },
      bot: { botCpuMsPerHour: lots, botCpuMsPerDay: lots },
    },
    pacing: { sendsPerMinute: lots, sendBurst: lots },
  };
}

/** The service for the bots installed in `data`, and its spool; `options` may log, count sent mails and bound the loaded bots. */
export async function partBenchService(
  data: string,
  executor: Executor,
  options: { log?: HostLog; onSubmit?: () => void; loadedBots?: Readonly<LoadedBotsLimits> } = {},
): Promise<{ service: HostService; spool: Spool }> {
  const config = await loadHostConfig(hostPaths(data).config, data);
  const clock = { now: () => Date.now() };
  const spool = new Spool(hostPaths(data).spool, clock);
  const service = new HostService({
    dataDir: data,
    config,
    spool,
    executor,
    clock,
    log: options.log ?? (() => {}),
    ...(options.loadedBots ? { loadedBots: options.loadedBots } : {}),
    submitterFor: () => ({ submit: async () => void options.onSubmit?.(), close: () => {} }),
  });
  return { service, spool };
}
