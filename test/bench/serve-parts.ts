// CPU per call of the pieces `host serve` runs per mail, each alone, sequentially, in this process
// (process.cpuUsage: main thread + libuv pool + kernel). For deciding where `host serve`'s time
// per mail goes; nothing here judges a number.
// Run with: npx vite-node test/bench/serve-parts.ts [N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Executor } from "../../host/executor/executor.js";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { SpoolEntry } from "../../host/spool/spool.js";
import { partBenchService } from "./part-bench-service.js";
import { receiveMail } from "../../host/wire/inbound.js";
import { mailsForActions } from "../../host/wire/outbound.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { runRequest } from "../../host/executor/run-request.js";
import { cpuPerCall } from "./cpu-per-call.js";
import { runBench } from "./run-bench.js";

async function measure(label: string, n: number, step: (i: number) => Promise<unknown>): Promise<void> {
  const cost = await cpuPerCall(label, n, step);
  process.stdout.write(
    `${label.padEnd(46)} CPU ${cost.cpuMs.toFixed(2).padStart(6)} ms (sys ${cost.sysMs.toFixed(2)})   wall ${cost.wallMs.toFixed(2).padStart(6)} ms\n`,
  );
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const work = mkdtempSync(join(tmpdir(), "serve-parts-"));
  const executor = new Executor({ concurrency: 1 });
  try {
    const data = await initHost(work, {});
    const addr = "echo@chat.test";
    await installBot(work, data, { addr });
    const { service, spool } = await partBenchService(data, executor);
    const { bot } = (await service.bot(addr))!;
    const account = bot.account;
    const alice = await newIdentity("alice@chat.test");
    const mails: Uint8Array[] = [];
    for (let i = 0; i < n + 10; i++)
      mails.push(
        (
          await userMail({
            from: "alice@chat.test",
            to: addr,
            recipientKey: account.identity.publicKey,
            signer: alice,
            body: { kind: "text", text: `bench ${i}` },
          })
        ).raw,
      );
    await executor.warmUp();
    const limits = { maxBytes: MAIL_MAX_BYTES };
    const inbound = await receiveMail(account, mails[0]!, limits, { deferSeen: true });
    if (inbound.kind !== "event") throw new Error(`not an event: ${inbound.kind}`);
    await measure("receiveMail (parse, decrypt, verify, parse inner)", n, (i) => receiveMail(account, mails[i]!, limits, { deferSeen: true }));
    await measure("executor.run (echo)", n, () =>
      executor.run(
        runRequest(
          { bundle: bot.bundle, limits: bot.limits, origins: [] },
          { event: inbound.event, state: {}, nowMs: Date.now(), botAddr: addr, eventKey: inbound.key },
        ),
      ),
    );
    await measure("mailsForActions (compose, sign, encrypt)", n, (i) =>
      mailsForActions(account, [{ type: "send", chatId: "alice@chat.test", text: `echo: bench ${i}` }], `k${i}`),
    );
    const entries: SpoolEntry[] = [];
    await measure("spool.write (door: 2 files, fsync, rename)", n, async (i) => entries.push(await spool.write(addr, mails[i]!, MAIL_MAX_BYTES)));
    await measure("spool.read", n, (i) => spool.read(entries[i]!));
    const plan = {
      report: { outcome: "ran" as const, sent: 1 },
      mails: (await mailsForActions(account, [{ type: "send", chatId: "alice@chat.test", text: "x" }], "k")).mails,
      submitted: 0,
      state: null,
    };
    await measure("spool.update (journal a plan)", n, (i) => spool.update(entries[i]!, { journal: plan }));
    await measure("seen.add", n, (i) => account.seen.add("alice@chat.test", `<m${i}@x>`));
    await measure("sent.record", n, (i) =>
      account.sent.record({ messageId: `<s${i}@x>`, chatId: "alice@chat.test", from: addr, recipients: ["alice@chat.test"], raw: plan.mails[0]!.raw }),
    );
    await measure("state.load", n, () => bot.state.load());
    await measure("spool.complete", n, (i) => spool.complete(entries[i]!));
  } finally {
    await executor.close();
    rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
