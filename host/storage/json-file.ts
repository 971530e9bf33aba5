// A JSON file that only the host user can read, replaced atomically and durably (write temp, fsync,
// rename, fsync the folder: host/spool/durable-fs.ts), so a crash or a power cut leaves either the
// old or the new content, never half of one, and never the old one back after the new was reported.
import { dirname } from "node:path";
import { mkdirDurable, renameDurable } from "../spool/durable-fs.js";
import { readFile, writeAndSync } from "../spool/file-io.js";

/** The parsed file, or `fallback` when it does not exist yet. */
export async function readJsonFile<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return fallback;
    throw error;
  }
}

/** Replace the file with `value` as JSON; folders 0700, file 0600. */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await writePrivateFile(file, JSON.stringify(value, null, 2));
}

/** Replace the file with `data` atomically and durably (temp, fsync, rename, fsync the folder); folders 0700, file 0600. */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  await mkdirDurable(dirname(file));
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeAndSync(temp, data, "w", 0o600, "full");
  await renameDurable([[temp, file]]);
}
