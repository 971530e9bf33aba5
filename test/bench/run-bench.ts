// How every bench script ends: run `main`, exit 0 when it resolves, print the failure and exit 1
// when it rejects (a bench holds children, servers and timers that would keep node alive).
export function runBench(main: () => Promise<void>, failurePrefix = ""): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${failurePrefix}${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
