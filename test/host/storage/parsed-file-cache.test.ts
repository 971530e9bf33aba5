// The parse cache behind the group store and the bots' keys (host/storage/parsed-file-cache.ts),
// alone, with stamps made up: kept while the file is the same one, bounded by weight, least
// recently used first.
import { describe, expect, it } from "vitest";
import { ParsedFileCache, type FileStamp } from "../../../host/storage/parsed-file-cache.js";

const stamp = (ino: number, size = 10, mtimeMs = 1, ctimeMs = 1): FileStamp => ({ ino, size, mtimeMs, ctimeMs });

describe("parsed file cache", () => {
  it("answers while the file is the same one (inode, size, mtime); another inode, size or mtime is a miss", () => {
    const cache = new ParsedFileCache<string>(100, (s) => s.size);
    cache.keep("/a", stamp(1), "parsed a");
    expect(cache.get("/a", stamp(1))).toBe("parsed a");
    expect(cache.get("/a", stamp(2))).toBeUndefined();
    expect(cache.get("/a", stamp(1, 11))).toBeUndefined();
    expect(cache.get("/a", stamp(1, 10, 2))).toBeUndefined();
    // ctime is compared only when asked for.
    expect(cache.get("/a", stamp(1, 10, 1, 9))).toBe("parsed a");
    const strict = new ParsedFileCache<string>(100, () => 1, true);
    strict.keep("/a", stamp(1), "parsed a");
    expect(strict.get("/a", stamp(1, 10, 1, 9))).toBeUndefined();
    expect(strict.get("/a", stamp(1))).toBe("parsed a");
  });

  it("keeps at most maxWeight, dropping the least recently used (a get counts as a use); one heavier than maxWeight is not kept; forget drops", () => {
    const cache = new ParsedFileCache<string>(3, () => 1);
    for (const file of ["/a", "/b", "/c"]) cache.keep(file, stamp(1), file);
    expect(cache.get("/a", stamp(1))).toBe("/a"); // now /b is the least recently used
    cache.keep("/d", stamp(1), "/d");
    expect(cache.get("/b", stamp(1))).toBeUndefined();
    expect(["/a", "/c", "/d"].map((file) => cache.get(file, stamp(1)))).toEqual(["/a", "/c", "/d"]);
    const bytes = new ParsedFileCache<string>(25, (s) => s.size);
    bytes.keep("/big", stamp(1, 26), "too big");
    expect(bytes.get("/big", stamp(1, 26))).toBeUndefined();
    bytes.keep("/x", stamp(1, 20), "x");
    bytes.keep("/y", stamp(1, 20), "y"); // 40 > 25: /x goes
    expect(bytes.get("/x", stamp(1, 20))).toBeUndefined();
    expect(bytes.get("/y", stamp(1, 20))).toBe("y");
    bytes.forget("/y");
    expect(bytes.get("/y", stamp(1, 20))).toBeUndefined();
  });
});
