// `chatbot host setup`'s Dovecot part (issue 13, part 2): IMAPSieve runs a Sieve script for every
// message an account APPENDs or COPYs into its ChatbotInstall folder, and the script pipes it to a
// small sh program that drops it into the host's deploy inbox (host/service/deploy-inbox.ts), named
// after Dovecot's authenticated IMAP user. Not node: Dovecot runs pipe programs under its mail
// processes' address-space limit (vsz_limit, 256 MiB by default), where V8 cannot even start. Everything lives
// in files of its own next to dovecot.conf (chatbot-deploy.conf, chatbot/), read through one
// `!include_try chatbot-deploy.conf` line at the end of dovecot.conf, so --remove takes exactly that
// back. Settings the relay may already use are merged, not overwritten: sieve_plugins and
// sieve_global_extensions keep their words, the imapsieve mailbox rule takes the first free number,
// an existing sieve_pipe_bin_dir gets our program instead of being replaced.
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DEPLOY_INBOX_FILES_MAX, DEPLOY_INBOX_FILES_PER_ACCOUNT, DEPLOY_MESSAGE_MAX_BYTES } from "../../core/limits.js";
import { DEPLOY_FOLDER } from "../deploy/deploy-message.js";
import { runTool } from "../service/run-tool.js";

/** How long one Dovecot tool may take, ms (doveconf, sievec, doveadm reload, apt-get). */
const TOOL_TIMEOUT_MS = 120_000;
/** The line dovecot.conf gets (relative: Dovecot resolves it next to dovecot.conf). */
export const DOVECOT_INCLUDE_LINE = "!include_try chatbot-deploy.conf";
/** The program name the Sieve script pipes to (a file in sieve_pipe_bin_dir). */
const HOOK_PROGRAM = "chatbot-deploy";
/** Pigeonhole's modules the wiring needs (Debian: dovecot-sieve). */
const SIEVE_MODULES = ["/usr/lib/dovecot/modules/lib95_imap_sieve_plugin.so", "/usr/lib/dovecot/modules/sieve/lib90_sieve_extprograms_plugin.so"];
const OUR_SIEVE_PLUGINS = ["sieve_imapsieve", "sieve_extprograms"];
const OUR_EXTENSIONS = ["+vnd.dovecot.pipe"];

export interface DovecotPlaces {
  /** dovecot.conf of the relay (default /etc/dovecot/dovecot.conf). */
  dovecotConfig: string;
  /** The host's deploy inbox, where the hook drops each deploy. */
  deployInbox: string;
  env: NodeJS.ProcessEnv;
}

/** One Dovecot step, as setup-steps.ts runs them. */
export interface DovecotStep {
  name: string;
  done: boolean;
  command: string;
  apply: () => Promise<void>;
}

const files = (places: DovecotPlaces) => {
  const confDir = dirname(places.dovecotConfig);
  return {
    conf: join(confDir, "chatbot-deploy.conf"),
    folder: join(confDir, "chatbot"),
    script: join(confDir, "chatbot", "deploy.sieve"),
    binary: join(confDir, "chatbot", "deploy.svbin"),
    pipeDir: join(confDir, "chatbot", "pipe"),
  };
};

function tool(places: DovecotPlaces, command: string, args: string[]): Promise<string> {
  return runTool(command, args, { env: places.env, timeoutMs: TOOL_TIMEOUT_MS }).catch((error: Error) => {
    throw new Error(`${command} ${args.join(" ")} failed: ${error.message}`);
  });
}

/** A plugin setting as Dovecot reads it now ("" when unset or unreadable). */
const setting = (places: DovecotPlaces, key: string) => tool(places, "doveconf", ["-c", places.dovecotConfig, "-h", `plugin/${key}`]).catch(() => "");

/** Words of `current` that are not ours, then ours: the same result whether or not ours are in already. */
function merged(current: string, ours: readonly string[]): string {
  const theirs = current.split(/\s+/).filter((w) => w !== "" && !ours.includes(w));
  return [...theirs, ...ours].join(" ");
}

/** The Sieve script: the account is Dovecot's authenticated user, never anything the message says. */
export function deploySieveScript(): string {
  return `# Written by 'chatbot host setup': every message an account puts into ${DEPLOY_FOLDER} goes to the
# chatbot host, with the authenticated IMAP user (not anything the message says) as the account.
require ["vnd.dovecot.pipe", "environment", "variables", "imapsieve"];
if environment :matches "imap.user" "*" {
  set "account" "\${1}";
}
pipe :try "${HOOK_PROGRAM}" ["\${account}"];
`;
}

/** `text` as one sh word: in single quotes, each ' written as '\'' (nothing inside is expanded). */
export function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The program in sieve_pipe_bin_dir: Dovecot runs it as the mail user, with the message on stdin
 * and the account as $1. It writes `.<name>` and renames it (a reader never sees half a file), at
 * most one byte over the cap (the host refuses that one unread). It leaves the folder alone when
 * DEPLOY_INBOX_FILES_PER_ACCOUNT of this account's deploys wait there already (one account cannot
 * crowd the others out; its deploy stays in its ChatbotInstall, where the host's next look at the
 * account finds it) or DEPLOY_INBOX_FILES_MAX deploys in all (the host is down or far behind). It
 * always exits 0: Dovecot only logs a failure, and the author's APPEND succeeds either way.
 */
export function hookProgram(places: Pick<DovecotPlaces, "deployInbox">): string {
  return `#!/bin/sh
# Written by 'chatbot host setup': Dovecot's IMAPSieve runs this, as the mail user, for each message
# put into ${DEPLOY_FOLDER}, with the authenticated IMAP user as $1; the chatbot host takes it from
# the deploy inbox ${places.deployInbox.replace(/[\r\n]/g, "?")}.
inbox=${shellWord(places.deployInbox)}
account=$1
case "$account" in ''|.*|*/*) cat >/dev/null; exit 0 ;; esac
mine=0
for f in "$inbox"/* "$inbox"/.[0-9]*; do
  [ -e "$f" ] || continue
  rest=\${f##*/}; rest=\${rest#.}; rest=\${rest#*.}; rest=\${rest#*.}
  [ "$rest" = "$account" ] && mine=$((mine + 1))
done
if [ "$mine" -ge ${DEPLOY_INBOX_FILES_PER_ACCOUNT} ] || [ "$(ls -A "$inbox" | wc -l)" -ge ${DEPLOY_INBOX_FILES_MAX} ]; then cat >/dev/null; exit 0; fi
name="$(date +%s%N).$$.$account"
umask 002
head -c ${DEPLOY_MESSAGE_MAX_BYTES + 1} >"$inbox/.$name" && mv "$inbox/.$name" "$inbox/$name" || rm -f "$inbox/.$name"
cat >/dev/null
exit 0
`;
}

/** The Dovecot settings file, given what the relay has set already. */
async function plannedConf(places: DovecotPlaces): Promise<{ text: string; pipeDir: string }> {
  const f = files(places);
  let index = 1;
  for (; index < 100; index += 1) {
    const name = await setting(places, `imapsieve_mailbox${index}_name`);
    if (name === "" || name === DEPLOY_FOLDER) break;
  }
  const existingPipeDir = await setting(places, "sieve_pipe_bin_dir");
  const pipeDir = existingPipeDir === "" ? f.pipeDir : existingPipeDir;
  const text = `# Written by 'chatbot host setup' (read through "${DOVECOT_INCLUDE_LINE}" in dovecot.conf;
# 'chatbot host setup --remove' takes both away): deploys appended to any account's ${DEPLOY_FOLDER}
# folder go to the chatbot host at once (IMAPSieve + the pipe extension, Debian's dovecot-sieve).
protocol imap {
  mail_plugins = $mail_plugins imap_sieve
}
plugin {
  sieve_plugins = ${merged(await setting(places, "sieve_plugins"), OUR_SIEVE_PLUGINS)}
  sieve_global_extensions = ${merged(await setting(places, "sieve_global_extensions"), OUR_EXTENSIONS)}
  sieve_pipe_bin_dir = ${pipeDir}
  imapsieve_mailbox${index}_name = ${DEPLOY_FOLDER}
  imapsieve_mailbox${index}_causes = APPEND COPY
  imapsieve_mailbox${index}_before = file:${f.script}
}
`;
  return { text, pipeDir };
}

const includes = (places: DovecotPlaces) => readFileSync(places.dovecotConfig, "utf8").split("\n").includes(DOVECOT_INCLUDE_LINE);

/** Reload a running Dovecot; one that is not running reads the files when it starts. */
async function reload(places: DovecotPlaces): Promise<void> {
  await tool(places, "doveadm", ["-c", places.dovecotConfig, "reload"]).catch((error: Error) => {
    if (!/not running|connect\(.*\) failed|No such file/i.test(error.message)) throw error;
  });
}

/** The Dovecot steps of `host setup`. */
export async function dovecotSteps(places: DovecotPlaces): Promise<DovecotStep[]> {
  const f = files(places);
  const steps: DovecotStep[] = [];
  const pluginsThere = SIEVE_MODULES.every((m) => existsSync(m));
  steps.push({
    name: "Dovecot's Sieve plugins (Debian package dovecot-sieve: IMAPSieve and the pipe extension)",
    done: pluginsThere,
    command: "apt-get install -y dovecot-sieve",
    apply: async () => {
      await tool({ ...places, env: { ...places.env, DEBIAN_FRONTEND: "noninteractive" } }, "apt-get", [
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "dovecot-sieve",
      ]);
    },
  });
  if (!existsSync(places.dovecotConfig)) {
    steps.push({
      name: `Dovecot config ${places.dovecotConfig}`,
      done: false,
      command: `# ${places.dovecotConfig} does not exist: give Dovecot's config with --dovecot-config FILE`,
      apply: async () => {
        throw new Error(`${places.dovecotConfig} does not exist: give Dovecot's config with --dovecot-config FILE`);
      },
    });
    return steps;
  }
  // Before the plugins are installed doveconf refuses the settings: plan with what it says now.
  const planned = await plannedConf(places);
  const hook = join(planned.pipeDir, HOOK_PROGRAM);
  const current = async (file: string) => readFile(file, "utf8").catch(() => undefined);
  const compiled = existsSync(f.binary) && existsSync(f.script) && statSync(f.binary).mtimeMs >= statSync(f.script).mtimeMs;
  const done =
    pluginsThere &&
    (await current(f.conf)) === planned.text &&
    (await current(f.script)) === deploySieveScript() &&
    (await current(hook)) === hookProgram(places) &&
    compiled &&
    includes(places);
  steps.push({
    name: `Dovecot: IMAPSieve pipes each deploy put into ${DEPLOY_FOLDER} to the host (${f.conf}, ${f.folder}/)`,
    done,
    command: `write ${f.conf} ${f.script} ${hook} && echo '${DOVECOT_INCLUDE_LINE}' >> ${places.dovecotConfig} && doveconf -n >/dev/null && sievec -c ${places.dovecotConfig} ${f.script} && doveadm reload (the include line taken out again if doveconf or sievec fails)`,
    apply: async () => {
      await mkdir(planned.pipeDir, { recursive: true, mode: 0o755 });
      await writeFile(f.script, deploySieveScript(), { mode: 0o644 });
      await writeFile(hook, hookProgram(places), { mode: 0o755 });
      // Plan again: the first plan may predate the plugins' installation a step before.
      const { text } = await plannedConf(places);
      const before = readFileSync(places.dovecotConfig, "utf8");
      const confBefore = await current(f.conf);
      await writeFile(f.conf, text, { mode: 0o644 });
      if (!includes(places)) await writeFile(places.dovecotConfig, `${before}${before.endsWith("\n") || before === "" ? "" : "\n"}${DOVECOT_INCLUDE_LINE}\n`);
      try {
        // Dovecot must accept the whole configuration before it is told to reload: a relay's
        // Dovecot is never left with settings it refuses.
        await tool(places, "doveconf", ["-c", places.dovecotConfig, "-n"]);
        await tool(places, "sievec", ["-c", places.dovecotConfig, f.script, f.binary]);
      } catch (error) {
        await writeFile(places.dovecotConfig, before);
        if (confBefore === undefined) await rm(f.conf, { force: true });
        else await writeFile(f.conf, confBefore, { mode: 0o644 });
        throw new Error(`${(error as Error).message}; ${places.dovecotConfig} and ${f.conf} are as they were, Dovecot was not reloaded`);
      }
      await chmod(f.binary, 0o644); // Dovecot reads it as the mail user; sievec writes it 0600
      await reload(places);
    },
  });
  return steps;
}

/** The Dovecot step of `host setup --remove`: the include line and our files gone, Dovecot reloaded. */
export async function dovecotRemoveSteps(places: DovecotPlaces): Promise<DovecotStep[]> {
  const f = files(places);
  const there = existsSync(places.dovecotConfig) && includes(places);
  const hook = join((await setting(places, "sieve_pipe_bin_dir")) || f.pipeDir, HOOK_PROGRAM);
  return [
    {
      name: `Dovecot without the deploy wiring (${f.conf}, ${f.folder}/, the include line)`,
      done: !there && !existsSync(f.conf) && !existsSync(f.folder),
      command: `sed -i '/^${DOVECOT_INCLUDE_LINE}$/d' ${places.dovecotConfig} && rm -r ${f.conf} ${f.folder} && doveadm reload`,
      apply: async () => {
        if (there) {
          const lines = readFileSync(places.dovecotConfig, "utf8").split("\n");
          await writeFile(places.dovecotConfig, lines.filter((l) => l !== DOVECOT_INCLUDE_LINE).join("\n"));
        }
        await rm(hook, { force: true });
        await rm(f.conf, { force: true });
        await rm(f.folder, { recursive: true, force: true });
        await reload(places);
      },
    },
  ];
}
