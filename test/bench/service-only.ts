// Only phases 4 and 5 of `make bench`: `host deliver` against `node -e 0`, and the service burst
// through the relay. For working on the host service without the sandbox phases' minute.
// Run with: npx vite-node test/bench/service-only.ts [--json] [--mails N] [--singles N] [--spread N] [--skip-deliver] [--skip-service] [--no-lmtp-cache]
//   (after `make build`; BENCH_SERVE_PROFILE=DIR writes a CPU profile of each serve process)
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { measureDeliver } from "./deliver-bench.js";
import { measureServiceBurst } from "./service-bench.js";
import { deliverLines, serviceLines } from "./report.js";
import { runBench } from "./run-bench.js";

const SAMPLE_MAIL = fileURLToPath(new URL("../../templates/echo/sample.eml", import.meta.url));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const mailsAt = args.indexOf("--mails");
  const mails = mailsAt >= 0 ? Number(args[mailsAt + 1]) : 1000;
  const singlesAt = args.indexOf("--singles");
  const singles = singlesAt >= 0 ? Number(args[singlesAt + 1]) : 60;
  // --spread MAILS: that many mails from 100 senders to 10 bots at concurrency 2 (0: none).
  const spreadAt = args.indexOf("--spread");
  const spreadMails = spreadAt >= 0 ? Number(args[spreadAt + 1]) : 1000;
  const spread = spreadMails > 0 ? { bots: 10, senders: 100, mails: spreadMails, concurrency: 2 } : undefined;
  const log = (text: string) => process.stderr.write(`${text}\n`);
  const load = loadavg();
  const deliver = args.includes("--skip-deliver") ? undefined : await measureDeliver(await readFile(SAMPLE_MAIL), { n: 30, maxMs: 10_000, warmUp: 2 });
  const service = args.includes("--skip-service")
    ? undefined
    : await measureServiceBurst({
        mails,
        concurrencies: [1, 2],
        maxMs: 90_000,
        singles,
        ...(spread ? { spread } : {}),
        lmtpCache: !args.includes("--no-lmtp-cache"),
        log,
      });
  if (json) process.stdout.write(`${JSON.stringify({ load, loadEnd: loadavg(), deliver, service }, null, 2)}\n`);
  else
    process.stdout.write(
      `${[
        `load ${load.map((l) => l.toFixed(2)).join(" ")} → ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
        ...(deliver ? deliverLines(deliver) : []),
        ...(service ? serviceLines(service, cpus().length) : []),
      ].join("\n")}\n`,
    );
}

runBench(main, "bench failed: ");
