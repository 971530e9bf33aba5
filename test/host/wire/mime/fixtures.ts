// The recorded Delta Chat 2.57.0 captures (test/fixtures/deltachat/INDEX.txt) and small helpers.
import { readdirSync, readFileSync } from "node:fs";
import { isChatbotError } from "../../../../core/errors.js";

const ROOT = new URL("../../../fixtures/deltachat/", import.meta.url);

/** The capture runs: one directory per transport setting, plus the legacy-QR run. */
export const RUNS = ["plain", "starttls", "tls", "plain-legacyqr"] as const;

/** The bytes of a capture file, e.g. `capture("plain/05.eml")`. */
export function capture(path: string): Buffer {
  return readFileSync(new URL(path, ROOT));
}

/** Every outer wire capture (`NN.eml`, not the decrypted copies) of every run. */
export function outerCaptures(): string[] {
  return RUNS.flatMap((run) =>
    readdirSync(new URL(`${run}/`, ROOT))
      .filter((name) => name.endsWith(".eml") && !name.endsWith(".decrypted.eml"))
      .sort()
      .map((name) => `${run}/${name}`),
  );
}

/** The ChatbotError code a call throws or a promise rejects with (fails the test otherwise). */
export async function errorCode(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (isChatbotError(error)) return error.code;
    throw error;
  }
  throw new Error("expected a ChatbotError, but the call succeeded");
}

/** CRLF-joined lines as bytes. */
export const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join("\r\n"));

/** What a run's keys directory says: the SecureJoin tokens and Alice's (the joiner's) fingerprint. */
export function runFacts(run: string): { auth: string; invitenumber: string; aliceFingerprint: string } {
  const tokens = JSON.parse(capture(`${run}/keys/securejoin.json`).toString("utf8")) as { auth: string; invitenumber: string };
  const aliceKey = readdirSync(new URL(`${run}/keys/A/`, ROOT)).find((name) => name.startsWith("public-key-")) ?? "";
  const aliceFingerprint = /-([0-9A-F]{40})\.asc$/.exec(aliceKey)?.[1] ?? "";
  return { auth: tokens.auth, invitenumber: tokens.invitenumber, aliceFingerprint };
}
