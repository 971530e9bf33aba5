// `host setup`'s Dovecot step never leaves a relay's Dovecot with settings it refuses: the include
// line and chatbot-deploy.conf are written, Dovecot's own doveconf and sievec must accept them,
// and when either fails both files are put back as they were and Dovecot is not reloaded. Run with
// stand-in doveconf/sievec/doveadm programs first on PATH (what the step runs is the real code).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOVECOT_INCLUDE_LINE, dovecotSteps } from "../../../host/setup/dovecot-steps.js";

const DOVECOT_CONF = "protocols = imap lmtp\nmail_location = maildir:~/Maildir\n";

/** A relay config folder and a bin folder whose tools fail as `failing` says; `calls` logs what ran. */
function relay(failing: { doveconfCheck?: boolean; sievec?: boolean }) {
  const work = mkdtempSync(join(tmpdir(), "dovecot-rollback-"));
  const etc = join(work, "etc");
  const bin = join(work, "bin");
  mkdirSync(etc);
  mkdirSync(bin);
  const conf = join(etc, "dovecot.conf");
  writeFileSync(conf, DOVECOT_CONF);
  const calls = join(work, "calls");
  const program = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${calls}'\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  // doveconf -h SETTING: unset (empty); doveconf -n: the check.
  program(
    "doveconf",
    `case "$*" in *" -n"*) ${failing.doveconfCheck ? 'echo "doveconf: Fatal: Unknown setting: imapsieve_mailbox1_name" >&2; exit 89' : "exit 0"} ;; esac; exit 0`,
  );
  program("sievec", failing.sievec ? 'echo "sievec: error: unknown extension vnd.dovecot.pipe" >&2; exit 1' : 'touch "$4"; exit 0');
  program("doveadm", "exit 0");
  const places = { dovecotConfig: conf, deployInbox: join(work, "inbox"), env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } };
  return { conf, etc, places, ran: () => (existsSync(calls) ? readFileSync(calls, "utf8") : "") };
}

async function wiringStep(places: Parameters<typeof dovecotSteps>[0]) {
  const step = (await dovecotSteps(places)).find((s) => s.name.startsWith("Dovecot: IMAPSieve"));
  expect(step).toBeDefined();
  return step!;
}

describe("host setup's Dovecot step", () => {
  it("with tools that accept it: the include line is added, the script compiled, Dovecot reloaded", async () => {
    const r = relay({});
    await (await wiringStep(r.places)).apply();
    expect(readFileSync(r.conf, "utf8")).toBe(`${DOVECOT_CONF}${DOVECOT_INCLUDE_LINE}\n`);
    expect(existsSync(join(r.etc, "chatbot-deploy.conf"))).toBe(true);
    expect(r.ran()).toMatch(/doveconf -c \S+ -n\nsievec .*\ndoveadm -c \S+ reload\n$/);
  });

  for (const [failing, said] of [
    [{ doveconfCheck: true }, /doveconf -c \S+ -n failed: .*Unknown setting: imapsieve_mailbox1_name/],
    [{ sievec: true }, /sievec -c .* failed: .*unknown extension vnd\.dovecot\.pipe/],
  ] as const) {
    it(`when ${Object.keys(failing)[0]} refuses: dovecot.conf and chatbot-deploy.conf are as they were, no reload, and the error says so`, async () => {
      const r = relay(failing);
      const error = await (await wiringStep(r.places)).apply().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(said);
      expect(error?.message).toMatch(/dovecot\.conf and .*chatbot-deploy\.conf are as they were, Dovecot was not reloaded$/);
      expect(readFileSync(r.conf, "utf8")).toBe(DOVECOT_CONF);
      expect(existsSync(join(r.etc, "chatbot-deploy.conf"))).toBe(false);
      expect(r.ran()).not.toContain("reload");
    });
  }
});
