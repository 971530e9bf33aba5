// `chatbot deploy` as an author runs it in the e2e tests: in the folder `work`, against a test
// relay's IMAP (plain: loopback), and the manifest edit that makes a new version to deploy.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../host/cli/main.js";
import { captureIo } from "./cli-io.js";

/** Run `chatbot deploy …rest --addr ADDR --password-file FILE` against IMAP on 127.0.0.1:`imapPort`. */
export async function runDeploy(work: string, imapPort: number, addr: string, passwordFile: string, ...rest: string[]) {
  const io = captureIo(work);
  const args = [
    "deploy",
    ...rest,
    "--addr",
    addr,
    "--password-file",
    passwordFile,
    "--imap-host",
    "127.0.0.1",
    "--imap-port",
    String(imapPort),
    "--imap-security",
    "plain",
  ];
  const code = await runCli(args, io);
  return { code, out: io.out, err: io.err };
}

/** Set the `version` in the manifest of the bot folder `botDir` (then build it again). */
export function setManifestVersion(botDir: string, version: string): void {
  const file = join(botDir, "chatbot.json");
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), version }, null, 2));
}
