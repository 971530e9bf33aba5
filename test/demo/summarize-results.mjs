// Prints vitest's JSON results (one or more files) as one plain closing line
// ("tests: N passed, N failed, N skipped") that any CI log reader understands, and exits non-zero
// when anything failed, a run is missing, no test ran at all, or a captured output log (--log FILE)
// holds a forbidden text (--forbid TEXT, e.g. QuickJS's "Aborted(": a sandbox that broke while the
// tests around it still passed). Each failed test is named (file > title) just above that line: a CI
// page that shows only the tail of the log still says which test failed.
import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { forbid: { type: "string", multiple: true, default: [] }, log: { type: "string", multiple: true, default: [] } },
});
let passed = 0;
let failed = 0;
let skipped = 0;
let ok = files.length > 0;
const failures = [];
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
  for (const suite of results.testResults ?? []) {
    const where = relative(process.cwd(), suite.name ?? "?");
    const failedTests = (suite.assertionResults ?? []).filter((test) => test.status === "failed");
    for (const test of failedTests) failures.push(`${where} > ${test.fullName ?? test.title}`);
    // A file that failed outside any test (an import error, a hook): vitest names no test.
    if (failedTests.length === 0 && suite.status === "failed") failures.push(`${where}: ${(suite.message ?? "failed").split("\n")[0].slice(0, 300)}`);
  }
}
for (const log of values.log) {
  if (!existsSync(log)) continue;
  const lines = readFileSync(log, "utf8").split("\n");
  for (const text of values.forbid) {
    const hits = lines.filter((line) => line.includes(text));
    if (hits.length === 0) continue;
    ok = false;
    console.log(`${log}: ${hits.length} line(s) with the forbidden text "${text}", first: ${hits[0].slice(0, 300)}`);
  }
}
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 && passed > 0 ? 0 : 1);
