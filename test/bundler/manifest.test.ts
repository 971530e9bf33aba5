import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseManifest, readManifest, DEFAULT_CEILINGS, type ManifestCeilings } from "../../core/manifest.js";
import { isChatbotError } from "../../core/errors.js";
import { INVALID_MANIFESTS, validManifest } from "../fixtures/manifests/invalid-manifests.js";
import { DEFAULT_EVENT_LIMITS, DEFAULT_PER_USER_LIMITS, EVENT_LIMIT_FLOORS, MANIFEST_EVENT_LIMIT_KEYS } from "../../core/limits.js";

const FILE = "chatbot.json";

const valid = validManifest;

/** The E_MANIFEST message for `raw`; fails the test if it parses. */
function problemsOf(raw: unknown, ceilings?: ManifestCeilings): string {
  try {
    parseManifest(raw, FILE, ceilings);
  } catch (error) {
    expect(isChatbotError(error, "E_MANIFEST")).toBe(true);
    const message = (error as Error).message;
    for (const line of message.split("\n")) expect(line.startsWith(`${FILE}: `)).toBe(true);
    return message;
  }
  throw new Error("expected the manifest to be rejected");
}

describe("manifest: a valid manifest", () => {
  it("parses with defaults filled for entry, schedule, origins and limits", () => {
    const manifest = parseManifest(valid(), FILE);
    expect(manifest).toEqual({
      name: "echo",
      version: "1.0.0",
      author: { name: "Ada", contact: "ada@example.org" },
      entry: "bot.ts",
      limits: { perUser: {} },
      schedule: "none",
      origins: [],
    });
  });

  it("is frozen all the way down", () => {
    const manifest = parseManifest(valid({ origins: ["https://api.example.org"], limits: { perUser: { mailsPerHour: 10 } } }), FILE);
    for (const part of [manifest, manifest.author, manifest.limits, manifest.limits.perUser, manifest.origins]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it("accepts the full example of DESIGN §3.2, whose limits sit exactly at the default ceilings", () => {
    const manifest = parseManifest(
      {
        name: "echo",
        version: "1.0.0",
        author: { name: "Ada", contact: "ada@example.org" },
        entry: "bot.ts",
        limits: {
          perUser: { mailsPerHour: 60, mailsPerDay: 120, bytesPerHour: 60000000, cpuMsPerHour: 60000 },
          cpuMsPerEvent: 1000,
          wallMsPerEvent: 30000,
          memoryBytes: 134217728,
        },
        schedule: "hourly",
        origins: ["https://api.example.org"],
      },
      FILE,
    );
    expect(manifest.limits.memoryBytes).toBe(134217728);
    expect(manifest.schedule).toBe("hourly");
  });

  it("normalizes an entry inside a subfolder and accepts a pre-release version and an https contact", () => {
    const manifest = parseManifest(
      valid({ entry: "./src/../src/main.ts", version: "2.0.0-beta.1", author: { name: "Ada", contact: "https://ada.example.org/contact" } }),
      FILE,
    );
    expect(manifest.entry).toBe("src/main.ts");
    expect(manifest.version).toBe("2.0.0-beta.1");
  });

  it("accepts http origins only on loopback: localhost and 127.x", () => {
    const manifest = parseManifest(valid({ origins: ["http://localhost:8080", "http://127.0.0.1:3000", "https://api.example.org:8443"] }), FILE);
    expect(manifest.origins).toEqual(["http://localhost:8080", "http://127.0.0.1:3000", "https://api.example.org:8443"]);
  });
});

describe("manifest: errors name the key path", () => {
  it("names the key, the expected type and the value for a wrong type", () => {
    const message = problemsOf(valid({ limits: { cpuMsPerEvent: "fast" } }));
    expect(message).toContain('"limits.cpuMsPerEvent" must be a positive integer, got "fast" (string)');
    expect(problemsOf(valid({ name: 42 }))).toContain('"name" must be a string');
    expect(problemsOf(valid({ name: 42 }))).toContain("got 42 (number)");
  });

  it("reports every problem at once, one line each", () => {
    const message = problemsOf({ name: "echo", extra: 1, limits: { memoryBytes: -1 } });
    // Four problems: the unknown key, the missing version and author, the negative memoryBytes.
    expect(message.split("\n")).toHaveLength(4);
    expect(message).toContain('unknown key "extra"');
    expect(message).toContain('"limits.memoryBytes" must be a positive integer, got -1');
    expect(message).toContain('"version" is required');
    expect(message).toContain('"author" is required');
  });
});

describe("manifest: limits may only lower the ceilings (at the cap passes, one over fails)", () => {
  for (const key of MANIFEST_EVENT_LIMIT_KEYS) {
    const ceiling = DEFAULT_EVENT_LIMITS[key];
    it(`accepts limits.${key} at the ceiling ${ceiling} and rejects ${ceiling + 1}`, () => {
      expect(parseManifest(valid({ limits: { [key]: ceiling } }), FILE).limits[key]).toBe(ceiling);
      const message = problemsOf(valid({ limits: { [key]: ceiling + 1 } }));
      expect(message).toContain(`"limits.${key}" is ${ceiling + 1}, above the relay's ceiling of ${ceiling}`);
    });
  }

  for (const key of Object.keys(DEFAULT_PER_USER_LIMITS) as Array<keyof typeof DEFAULT_PER_USER_LIMITS>) {
    const ceiling = DEFAULT_PER_USER_LIMITS[key];
    it(`accepts limits.perUser.${key} at the ceiling ${ceiling} and rejects ${ceiling + 1}`, () => {
      expect(parseManifest(valid({ limits: { perUser: { [key]: ceiling } } }), FILE).limits.perUser[key]).toBe(ceiling);
      expect(problemsOf(valid({ limits: { perUser: { [key]: ceiling + 1 } } }))).toContain(
        `"limits.perUser.${key}" is ${ceiling + 1}, above the relay's ceiling of ${ceiling}`,
      );
    });
  }

  it("checks against the operator's own ceilings when given", () => {
    const ceilings: ManifestCeilings = { event: { ...DEFAULT_CEILINGS.event, cpuMsPerEvent: 200 }, perUser: { ...DEFAULT_CEILINGS.perUser, mailsPerHour: 5 } };
    expect(parseManifest(valid({ limits: { cpuMsPerEvent: 200, perUser: { mailsPerHour: 5 } } }), FILE, ceilings).limits.cpuMsPerEvent).toBe(200);
    expect(problemsOf(valid({ limits: { cpuMsPerEvent: 201 } }), ceilings)).toContain("ceiling of 200");
    expect(problemsOf(valid({ limits: { perUser: { mailsPerHour: 6 } } }), ceilings)).toContain("ceiling of 5");
  });

  it("accepts memoryBytes at the floor and rejects one byte below it", () => {
    const floor = EVENT_LIMIT_FLOORS.memoryBytes;
    expect(parseManifest(valid({ limits: { memoryBytes: floor } }), FILE).limits.memoryBytes).toBe(floor);
    expect(problemsOf(valid({ limits: { memoryBytes: floor - 1 } }))).toContain(
      `"limits.memoryBytes" is ${floor - 1}, below the lowest workable value ${floor}`,
    );
  });
});

describe("manifest: every invalid manifest of the shared list is refused with its words", () => {
  for (const { why, manifest, problem } of INVALID_MANIFESTS) {
    it(`refuses ${why}`, () => {
      const message = problemsOf(manifest);
      if (typeof problem === "string") expect(message).toContain(problem);
      else expect(message).toMatch(problem);
    });
  }
});

describe("manifest: reading chatbot.json", () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reports a missing file as E_NOT_FOUND with the path", async () => {
    dir = await mkdtemp(join(tmpdir(), "chatbot-manifest-"));
    await expect(readManifest(dir)).rejects.toMatchObject({ code: "E_NOT_FOUND", message: expect.stringContaining(join(dir, FILE)) });
  });

  it("reports invalid JSON with the line and column", async () => {
    dir = await mkdtemp(join(tmpdir(), "chatbot-manifest-"));
    await writeFile(join(dir, FILE), '{\n  "name": "echo",\n  version: "1.0.0"\n}\n');
    await expect(readManifest(dir)).rejects.toMatchObject({ code: "E_MANIFEST", message: expect.stringContaining(`${join(dir, FILE)}:3:3: not valid JSON`) });
  });

  it("reads and validates a file, with the path in every problem", async () => {
    dir = await mkdtemp(join(tmpdir(), "chatbot-manifest-"));
    await writeFile(join(dir, FILE), JSON.stringify(valid()));
    expect((await readManifest(dir)).name).toBe("echo");
    await writeFile(join(dir, FILE), JSON.stringify(valid({ schedule: 1 })));
    await expect(readManifest(dir)).rejects.toMatchObject({ message: expect.stringContaining(`${join(dir, FILE)}: "schedule"`) });
  });
});
