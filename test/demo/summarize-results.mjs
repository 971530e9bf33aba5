// Prints vitest's JSON results (one or more files) as one plain closing line
// ("tests: N passed, N failed, N skipped") that any CI log reader understands, and exits non-zero
// when anything failed, a run is missing, or no test ran at all.
import { existsSync, readFileSync } from "node:fs";

const files = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let ok = files.length > 0;
for (const file of files) {
  if (!existsSync(file)) {
    console.log(`${file}: missing (the test run did not finish)`);
    ok = false;
    continue;
  }
  const results = JSON.parse(readFileSync(file, "utf8"));
  passed += results.numPassedTests ?? 0;
  failed += (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0);
  skipped += (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
  if (results.success === false) ok = false;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 && passed > 0 ? 0 : 1);
