import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "summarize-results.mjs");

/** Run the summarizer on vitest-shaped JSON results; resolves with its exit code and output. */
function summarize(...results: object[]): { code: number; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "summarize-"));
  const files = results.map((result, index) => {
    const file = join(dir, `r${index}.json`);
    writeFileSync(file, JSON.stringify(result));
    return file;
  });
  try {
    return { code: 0, out: execFileSync(process.execPath, [SCRIPT, ...files], { encoding: "utf8" }) };
  } catch (error) {
    const failure = error as { status: number; stdout: string };
    return { code: failure.status, out: failure.stdout };
  }
}

const passing = (name: string) => ({
  name: join(process.cwd(), name),
  status: "passed",
  message: "",
  assertionResults: [{ fullName: "works", title: "works", status: "passed" }],
});

describe("summarize-results: the closing line of make test", () => {
  it("passes and counts when every test passed", () => {
    const { code, out } = summarize({ numPassedTests: 1, numFailedTests: 0, success: true, testResults: [passing("test/a.test.ts")] });
    expect(code).toBe(0);
    expect(out.trim()).toBe("tests: 1 passed, 0 failed, 0 skipped");
  });

  it("names each failed test, and a file that failed outside any test, just above the closing line", () => {
    const { code, out } = summarize(
      { numPassedTests: 1, numFailedTests: 0, success: true, testResults: [passing("test/a.test.ts")] },
      {
        numPassedTests: 0,
        numFailedTests: 1,
        numRuntimeErrorTestSuites: 1,
        success: false,
        testResults: [
          {
            name: join(process.cwd(), "test/e2e/b.test.ts"),
            status: "failed",
            message: "",
            assertionResults: [{ fullName: "core 2.33 group: echo arrives", title: "group: echo arrives", status: "failed" }],
          },
          { name: join(process.cwd(), "test/e2e/c.test.ts"), status: "failed", message: "Error: Cannot find module 'x'\n  at y", assertionResults: [] },
        ],
      },
    );
    expect(code).toBe(1);
    expect(out.trim().split("\n")).toEqual([
      "FAILED test/e2e/b.test.ts > core 2.33 group: echo arrives",
      "FAILED test/e2e/c.test.ts: Error: Cannot find module 'x'",
      "tests: 1 passed, 2 failed, 0 skipped",
    ]);
  });
});
