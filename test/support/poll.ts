// Waiting for effects that have no event to wait on (files the daemons write, log lines, a client's
// message list): poll with a deadline, never a fixed sleep.

/**
 * Poll `check` every `intervalMs` (50 ms unless a check is itself costly) until it gives something
 * other than undefined or false; resolves with it.
 */
export async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
