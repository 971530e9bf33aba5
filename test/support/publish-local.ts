// Pack this checkout's two packages (@chatbot-host/chatbot and @chatbot-host/create) as `npm
// publish` would and publish them to a local registry: what registry.test.ts and `make registry`
// both do before a new user's `npm create @chatbot-host`.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LocalRegistry } from "./local-registry.js";
import { runShell, userShellEnv } from "./user-shell.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Pack both packages from this checkout (lib/ as `make build` left it) and publish them to `registry`. */
export async function publishCheckout(registry: LocalRegistry): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "publish-local-"));
  try {
    const packs = join(work, "packs");
    mkdirSync(packs);
    const npmrc = join(work, "publisher.npmrc");
    writeFileSync(npmrc, registry.npmrc);
    const env = userShellEnv({ npm_config_userconfig: npmrc, npm_config_cache: join(homedir(), ".npm") });
    for (const dir of [ROOT, join(ROOT, "create")]) {
      const packed = await runShell(`npm pack --ignore-scripts --pack-destination ${packs}`, dir, env);
      if (packed.code !== 0) throw new Error(`npm pack in ${dir}: ${packed.output}`);
    }
    for (const tarball of readdirSync(packs)) {
      const published = await runShell(`npm publish ${join(packs, tarball)}`, work, env);
      if (published.code !== 0) throw new Error(`npm publish ${tarball}: ${published.output}\n${registry.output().slice(-2000)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
