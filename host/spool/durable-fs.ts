// The few file-system steps a durable queue needs: write-and-fsync a new file, fsync a folder (so
// a rename or unlink in it survives a power cut), and unlink that tolerates "already gone".
import { open, unlink } from "node:fs/promises";

/** Files the spool creates: only the host user reads mail. */
export const FILE_MODE = 0o600;
/** Folders the spool creates. */
export const DIR_MODE = 0o700;

/** Create `file` (it must not exist), write `data`, fsync it, close it. */
export async function writeNewFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, "wx", FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a folder: makes the renames, creations and unlinks in it durable (POSIX leaves them in the page cache otherwise). */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Unlink `file`; a file that is already gone is fine. */
export async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
