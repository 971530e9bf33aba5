// Prints vitest's JSON results as one plain closing line ("tests: N passed, N failed, N skipped")
// that any CI log reader understands, and exits non-zero when anything failed.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? ".vitest-results.json";
const results = JSON.parse(readFileSync(file, "utf8"));
const passed = results.numPassedTests ?? 0;
const failed = (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0);
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 || results.success === false ? 1 : 0);
