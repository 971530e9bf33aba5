// A JSON file that only the host user can read, replaced atomically (write temp, fsync, rename),
// so a crash leaves either the old or the new content, never half of one.
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";

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

/** Replace the file with `data` atomically (temp, fsync, rename); folders 0700, file 0600. */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
