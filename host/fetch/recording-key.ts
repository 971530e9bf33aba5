// How a recorded fetch is found (the test kit's replay, replay-dispatcher.ts, and its recorder,
// host/testing/test-fetch.ts): in a file of its own so the test kit can name recordings without
// loading undici.

/** The key a recording is found by: the URL normalized (`new URL().href`) without its fragment. */
export function recordingKey(url: string): string {
  const parsed = new URL(url);
  parsed.hash = "";
  return parsed.href;
}
