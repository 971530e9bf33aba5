// The two ways the stores make their file calls (host/spool/file-io.ts), for tests that run a
// store's behaviour both ways: libuv's pool (the door, the CLI) and blocking calls (the pipeline).
import { afterAll, beforeAll } from "vitest";
import { useBlockingFileIo } from "../../host/spool/file-io.js";

/** `describe.each` rows: the way's name and whether calls block. */
export const FILE_IO_WAYS: ReadonlyArray<readonly [way: string, blocking: boolean]> = [
  ["the thread pool", false],
  ["blocking calls", true],
];

/** Inside a `describe`: its tests run with the calls blocking or not; the pool is back afterwards. */
export function withFileIoWay(blocking: boolean): void {
  beforeAll(() => useBlockingFileIo(blocking));
  afterAll(() => useBlockingFileIo(false));
}
