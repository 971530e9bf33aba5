// The README's operator recipe ("### Install, configure, upgrade" up to "**Configure**") as tests run
// it: read from README.md at test time, with only the names and places the README lists replaced,
// so the README cannot drift from what is tested (operator-recipe.test.ts runs the by-hand steps,
// self-service.test.ts the one-command `host setup`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Where the README's names and places point in a test. */
export interface RecipePlaces {
  /** /opt/chatbot: this checkout, or a readable copy of it. */
  checkout: string;
  dataDir: string;
  /** The service's system user and group (the README's `chatbot`). */
  user: string;
  /** /var/spool/postfix: the test relay's queue directory. */
  queueDir: string;
  /** /etc/postfix: the test relay's Postfix config folder. */
  configDir: string;
  smtpPort: number;
  imapPort: number;
  /** /etc/dovecot/dovecot.conf: the test relay's Dovecot config. */
  dovecotConfig?: string;
  /** /etc/systemd/system: a folder for the unit files. */
  unitDir?: string;
  /** vmail: the group the test relay's mail processes run as. */
  mailGroup?: string;
  /** chat.example.org: the test relay's domain. */
  domain?: string;
  /** /etc/chatbot: a folder for the operator's secrets (the relay bot host's password file). */
  secretsDir?: string;
}

/** The README text of the recipe. */
export function recipeText(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split("### Install, configure, upgrade\n")[1]?.split("**Configure**")[0];
  if (!section) throw new Error("README: no recipe between '### Install, configure, upgrade' and '**Configure**'");
  return section;
}

/** `text` with the README's names and places replaced by the test's. */
export function replaceRecipePlaces(text: string, places: RecipePlaces): string {
  let replaced = text
    .replaceAll("/opt/chatbot", places.checkout)
    .replaceAll("/usr/bin/node", process.execPath)
    .replaceAll("/var/lib/chatbot", places.dataDir)
    .replaceAll("/var/spool/postfix", places.queueDir)
    .replaceAll("/etc/postfix", places.configDir)
    .replaceAll("--smtp-port 587", `--smtp-port ${places.smtpPort}`)
    .replaceAll("--imap-port 143", `--imap-port ${places.imapPort}`);
  if (places.dovecotConfig) replaced = replaced.replaceAll("/etc/dovecot/dovecot.conf", places.dovecotConfig);
  if (places.unitDir) replaced = replaced.replaceAll("/etc/systemd/system", places.unitDir);
  if (places.mailGroup) replaced = replaced.replaceAll("--mail-group vmail", `--mail-group ${places.mailGroup}`);
  if (places.domain) replaced = replaced.replaceAll("chat.example.org", places.domain);
  if (places.secretsDir) replaced = replaced.replaceAll("/etc/chatbot/", `${places.secretsDir}/`);
  // The user and group name: the word standing alone (not in a path like chatbot/lmtp.sock).
  return replaced.replace(/(^|[\s=])chatbot(?=$|\s)/gm, `$1${places.user}`);
}

/** The sh blocks of `text`, each as its command lines (comments, blank lines and the `git clone` line left out). */
export function recipeShellBlocks(text: string): string[][] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) =>
    match[1]!
      .split("\n")
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
      // This checkout is the clone, already built (`make test` built it; rebuilding would race other tests).
      .filter((line) => !line.startsWith("git clone ")),
  );
}

/** True for the one-command set-up block (`host setup`), which self-service.test.ts runs instead of the by-hand steps. */
export function isSetupBlock(lines: readonly string[]): boolean {
  return lines.some((line) => / host setup( |$)/.test(line));
}
