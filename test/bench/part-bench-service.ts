// The HostService the part benches (serve-parts.ts, mail-parts.ts) take their bot from: what `host
// serve` builds for the bots in a data directory, on the real clock, with a submitter that sends
// nothing (the parts are measured alone; SMTP is not one of them).
import type { Executor } from "../../host/executor/executor.js";
import { loadHostConfig } from "../../host/service/host-config.js";
import { HostService } from "../../host/service/host-service.js";
import { hostPaths } from "../../host/service/paths.js";
import { Spool } from "../../host/spool/spool.js";

/** The service for the bots installed in `data`, and its spool. */
export async function partBenchService(data: string, executor: Executor): Promise<{ service: HostService; spool: Spool }> {
  const config = await loadHostConfig(hostPaths(data).config, data);
  const clock = { now: () => Date.now() };
  const spool = new Spool(hostPaths(data).spool, clock);
  const service = new HostService({
    dataDir: data,
    config,
    spool,
    executor,
    clock,
    log: () => {},
    submitterFor: () => ({ submit: async () => {}, close: () => {} }),
  });
  return { service, spool };
}
