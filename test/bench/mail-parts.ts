// The CPU budget of one echo (issue 15 part 2): each part of receiving and answering one mail that
// `host serve` runs, measured alone over a set of mails with the functions the host calls, in the
// host's order (inbound.ts verify/classify, handle-mail.ts planMail, the entry pipeline's spool
// steps). Two sets: synthetic mail (test/support/user-mail.ts, the host's own wire code) and mail a
// real Delta Chat core wrote (real-core-fixtures.ts). Parts the host runs inside one function are
// derived as differences (marked ≈): verify = decrypt with the sender's key − decrypt without;
// the rest of receiveMail and of compose likewise. Nothing here judges a number.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAIL_MAX_BYTES } from "../../core/limits.js";
import type { Executor } from "../../host/executor/executor.js";
import { runRequest } from "../../host/executor/run-request.js";
import type { RunResult } from "../../host/executor/run-types.js";
import { permittedActions, recordEvent } from "../../host/service/bot-policy.js";
import { commitPlan } from "../../host/service/commit-plan.js";
import { admitEvent, eventOrigin, type EventOrigin } from "../../host/service/event-pipeline.js";
import { planMail, type MailPlan } from "../../host/service/handle-mail.js";
import { journalOf } from "../../host/service/plan-journal.js";
import { hostPaths } from "../../host/service/paths.js";
import type { SpoolEntry } from "../../host/spool/spool.js";
import { partBenchService } from "./part-bench-service.js";
import { receiveMail } from "../../host/wire/inbound.js";
import { parseInner, type DeltaInner } from "../../host/wire/mime/parse-inner.js";
import { parseOuter, type OuterMail } from "../../host/wire/mime/parse-outer.js";
import { withOuterFallbacks } from "../../host/wire/mime/outer-fallbacks.js";
import { mailsForActions } from "../../host/wire/outbound.js";
import { fingerprintOf, parseAutocryptHeader } from "../../host/wire/pgp/autocrypt.js";
import { decryptAndVerify } from "../../host/wire/pgp/decrypt.js";
import { signAndEncrypt } from "../../host/wire/pgp/encrypt.js";
import { initHost, installBot } from "../support/host-fixture.js";
import { newIdentity, userMail } from "../support/user-mail.js";
import { cpuPerCall, cpuPerCallInTurns } from "./cpu-per-call.js";
import { readRecording } from "./real-core-fixtures.js";
import { processCpuMs } from "./stats.js";

export type MailSource = "synthetic" | "real-core";

/** Where a part belongs in the life of one mail. */
export type PartStage = "receive" | "run" | "reply" | "commit";

/** One part's CPU per mail, ms; `derived` when it is a difference of two measurements. */
export interface PartCost {
  part: string;
  stage: PartStage;
  cpuMs: number;
  derived?: true;
}

export interface MailPartsResult {
  source: MailSource;
  /** Distinct mails in the set, and their mean size, bytes. */
  mails: number;
  meanBytes: number;
  parts: PartCost[];
  /** Σ parts, ms per mail. */
  sumMs: number;
  /** planMail as the host calls it (receive + run + reply), ms per mail: a check on the receive, run and reply parts. */
  planMailMs: number;
  /** The runner process's own CPU per event of this set, back to back (not in sumMs: another process), ms. */
  runnerCpuMs: number;
}

const LOTS = 100_000_000;
const LIMITS = { maxBytes: MAIL_MAX_BYTES };
const BOT_ADDR = "echobot@chat.test";

/** One mail of the set, and what the host made of it on the way (computed once, untimed). */
interface Prepared {
  raw: Uint8Array;
  outer: OuterMail;
  armored: string;
  sender: string;
  decryptedInner: Uint8Array;
  inner: DeltaInner;
  origin: EventOrigin;
  eventKey: string;
  event: Extract<Awaited<ReturnType<typeof receiveMail>>, { kind: "event" }>;
  result: RunResult;
  replyInner: string;
  plan: MailPlan;
}

/** The mails of `source` for a bot at BOT_ADDR; the real-core set also writes the recorded account into the host first. */
async function mailSet(source: MailSource, botKey: () => Promise<import("openpgp").PublicKey>, count: number): Promise<Uint8Array[]> {
  if (source === "real-core") {
    const recording = await readRecording();
    if (recording.botAddr !== BOT_ADDR) throw new Error(`the recording's bot is ${recording.botAddr}, not ${BOT_ADDR}`);
    return recording.mails.filter((m) => m.outcome === "ran").map((m) => m.raw);
  }
  const alice = await newIdentity("alice@chat.test");
  const recipientKey = await botKey();
  const mails: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    mails.push((await userMail({ from: "alice@chat.test", to: BOT_ADDR, recipientKey, signer: alice, body: { kind: "text", text: `bench ${i}` } })).raw);
  return mails;
}

/** Measure every part over `n` calls each (cycling through the set), on a host of its own in a temporary folder. */
export async function measureMailParts(source: MailSource, n: number, executor: Executor): Promise<MailPartsResult> {
  const work = mkdtempSync(join(tmpdir(), `mail-parts-${source}-`));
  try {
    const data = await initHost(work, {
      ceilings: {
        perUser: { mailsPerHour: LOTS, mailsPerDay: LOTS, bytesPerHour: LOTS * 100, cpuMsPerHour: LOTS },
        bot: { botCpuMsPerHour: LOTS, botCpuMsPerDay: LOTS },
      },
      pacing: { sendsPerMinute: LOTS, sendBurst: LOTS },
    });
    await installBot(work, data, { addr: BOT_ADDR });
    if (source === "real-core") {
      // The recorded account (its key, tokens, the user's verified key, the group) replaces the installed one's.
      const recording = await readRecording();
      for (const [name, text] of Object.entries(recording.accountFiles)) writeFileSync(join(hostPaths(data).bot(BOT_ADDR).dir, name), text, { mode: 0o600 });
    }
    const { service, spool } = await partBenchService(data, executor);
    const { bot, policy } = (await service.bot(BOT_ADDR))!;
    const { account } = bot;
    const deps = { executor, submitter: { submit: async () => {}, close: () => {} }, log: () => {}, maxMailBytes: MAIL_MAX_BYTES, policy };
    const raws = await mailSet(source, async () => account.identity.publicKey, Math.min(n, 50));

    // One untimed pass: the stores learn the sender's key (a first synthetic mail), each step's input is kept.
    const prepared: Prepared[] = [];
    for (const [i, raw] of raws.entries()) {
      const plan = await planMail(bot, raw, deps);
      if (plan.report.outcome !== "ran") throw new Error(`${source} mail ${i}: ${plan.report.outcome} (${plan.report.reason ?? ""})`);
      const event = await receiveMail(account, raw, LIMITS, { deferSeen: true });
      if (event.kind !== "event") throw new Error(`${source} mail ${i} is no event`);
      const outer = parseOuter(raw, LIMITS);
      const armored = outer.encrypted!.armored;
      const stored = (await account.peers.get(outer.from!))!;
      const decrypted = await decryptAndVerify(armored, account.identity, [await account.peers.key(stored.keydataBase64)], LIMITS);
      const inner = withOuterFallbacks(await parseInner(decrypted.inner, LIMITS), outer);
      const origin = eventOrigin(event.event, raw.byteLength, event.sender)!;
      const result = await executor.run(
        runRequest(bot, { event: event.event, attachments: event.attachments, eventKey: event.key, state: {}, nowMs: Date.now(), botAddr: BOT_ADDR }),
      );
      // The reply's inner MIME: the bot encrypts to itself too, so it opens its own mail.
      const reply = plan.mails[0]!;
      const replyArmored = parseOuter(new TextEncoder().encode(reply.raw), LIMITS).encrypted!.armored;
      const replyInner = new TextDecoder().decode((await decryptAndVerify(replyArmored, account.identity, [], LIMITS)).inner);
      prepared.push({
        raw,
        outer,
        armored,
        sender: outer.from!,
        decryptedInner: decrypted.inner,
        inner,
        origin,
        eventKey: event.key,
        event,
        result,
        replyInner,
        plan,
      });
    }
    const at = (i: number) => prepared[i % prepared.length]!;
    const senderKey = async (i: number) => account.peers.key((await account.peers.get(at(i).sender))!.keydataBase64);

    // Every step but the spool's (whose order matters) in turns, so the differences compare like with like.
    const steps: [string, (i: number) => Promise<unknown>][] = [
      // receive: inbound.ts verify() and classify(), the calls they make, in their order.
      ["outer parse", async (i) => parseOuter(at(i).raw, LIMITS)],
      ["peer key", async (i) => senderKey(i)],
      ["decrypt", async (i) => decryptAndVerify(at(i).armored, account.identity, [], LIMITS)],
      ["decrypt + verify", async (i) => decryptAndVerify(at(i).armored, account.identity, [await senderKey(i)], LIMITS)],
      ["inner parse", async (i) => withOuterFallbacks(await parseInner(at(i).decryptedInner, LIMITS), at(i).outer)],
      [
        "autocrypt",
        async (i) => {
          const header = parseAutocryptHeader(at(i).inner.autocrypt ?? "");
          if (!header) return;
          const keydataBase64 = Buffer.from(header.keydata).toString("base64");
          const key = await account.peers.key(keydataBase64);
          await account.peers.remember(at(i).sender, fingerprintOf(key), keydataBase64);
        },
      ],
      ["receiveMail", async (i) => receiveMail(account, at(i).raw, LIMITS, { deferSeen: true })],
      // run: event-pipeline.ts runAdmitted (admit, state, run, keep, count).
      [
        "policy",
        async (i) => {
          const { origin, result } = at(i);
          await admitEvent(policy, origin);
          await permittedActions(policy, result.actions);
          await recordEvent(policy, origin.sender, origin.bytes, result.cpuMs);
        },
      ],
      ["state.load", async () => bot.state.load()],
      [
        "executor.run",
        async (i) => {
          const { event } = at(i);
          return executor.run(
            runRequest(bot, { event: event.event, attachments: event.attachments, eventKey: event.key, state: {}, nowMs: Date.now(), botAddr: BOT_ADDR }),
          );
        },
      ],
      // reply: outbound.ts mailsForActions (route, compose, sign + encrypt).
      ["signAndEncrypt", async (i) => signAndEncrypt(at(i).replyInner, [await senderKey(i)], account.identity)],
      ["mailsForActions", async (i) => mailsForActions(account, at(i).result.actions, `${at(i).eventKey}#${i}`)],
      ["planMail", async (i) => planMail(bot, at(i).raw, deps)],
    ];
    const cost = new Map(
      [
        ...(await cpuPerCallInTurns(
          steps.map(([label, step]) => [`${source}: ${label}`, step] as const),
          n,
        )),
      ].map(([label, c]) => [label.slice(source.length + 2), c.cpuMs]),
    );
    const of = (label: string) => cost.get(label)!;
    const parts: PartCost[] = [];
    const put = (stage: PartStage, part: string, cpuMs: number, derived = false) =>
      parts.push({ part, stage, cpuMs, ...(derived ? { derived: true as const } : {}) });
    put("receive", "outer parse (parseOuter)", of("outer parse"));
    put("receive", "peer lookup + stored key (peers.get/key)", of("peer key"));
    put("receive", "decrypt (dearmor, PKESK, SEIPD)", of("decrypt"));
    put("receive", "verify signature", of("decrypt + verify") - of("decrypt"), true);
    put("receive", "inner MIME parse (parseInner)", of("inner parse"));
    put("receive", "Autocrypt key (header, key, remember)", of("autocrypt"));
    put("receive", "rest: seen, replay, gossip, groups, event", of("receiveMail") - parts.reduce((sum, p) => sum + p.cpuMs, 0), true);
    put("run", "policy (admit, keep, count)", of("policy"));
    put("run", "state.load", of("state.load"));
    put("run", "runner round trip (executor.run)", of("executor.run"));
    put("reply", "compose (route, MIME, armor)", of("mailsForActions") - of("signAndEncrypt"), true);
    put("reply", "sign + encrypt (signAndEncrypt)", of("signAndEncrypt"));
    const planMailMs = of("planMail");
    const runnerCpuMs = await runnerCpuPerEvent(executor, n, (i) =>
      runRequest(bot, {
        event: at(i).event.event,
        attachments: at(i).event.attachments,
        eventKey: at(i).event.key,
        state: {},
        nowMs: Date.now(),
        botAddr: BOT_ADDR,
      }),
    );
    const part = async (stage: PartStage, label: string, step: (i: number) => Promise<unknown>, warmUp?: number) =>
      put(stage, label, (await cpuPerCall(`${source}: ${label}`, n, step, warmUp)).cpuMs);

    // commit: the door's spool write, the entry pipeline's read, journal, commit point, submit, completion.
    const entries: SpoolEntry[] = [];
    const warm = Math.min(10, n);
    await part("commit", "spool.write (door: fsync, rename)", async (i) => entries.push(await spool.write(BOT_ADDR, at(i).raw, MAIL_MAX_BYTES)));
    await part("commit", "spool.read", async (i) => spool.read(entries[i + warm]!));
    await part("commit", "spool.update (journal the plan)", async (i) => spool.update(entries[i + warm]!, { journal: journalOf(at(i).plan) }));
    await part("commit", "commitPlan (state, seen mark)", async (i) =>
      commitPlan(bot, { ...at(i).plan, seen: { sender: at(i).sender, messageId: `<bench-${i}@x>` } }),
    );
    await part("commit", "sent.record", async (i) => {
      const mail = at(i).plan.mails[0]!;
      await account.sent.record({ messageId: `<sent-${i}@x>`, chatId: at(i).origin.chatId, from: BOT_ADDR, recipients: mail.recipients, raw: mail.raw });
    });
    // No warm-up: an entry completes once.
    await part("commit", "spool.complete", async (i) => spool.complete(entries[i + warm]!), 0);
    await service.stop();

    const sumMs = parts.reduce((sum, p) => sum + p.cpuMs, 0);
    const meanBytes = raws.reduce((sum, raw) => sum + raw.byteLength, 0) / raws.length;
    return { source, mails: raws.length, meanBytes, parts, sumMs, planMailMs, runnerCpuMs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The runner's CPU per event over `n` events back to back (its process's CPU from /proc), ms. */
async function runnerCpuPerEvent(executor: Executor, n: number, request: (i: number) => Parameters<Executor["run"]>[0]): Promise<number> {
  const pid = executor.runnerPids()[0]!;
  const before = processCpuMs(pid);
  for (let i = 0; i < n; i++) await executor.run(request(i));
  return (processCpuMs(pid) - before) / n;
}
