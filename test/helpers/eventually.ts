/** Polls `fn` until `ok` holds (or fails after `ms`, showing the last value): for asynchronous outcomes. */
export async function eventually<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${ms} ms; last value: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Retries `check` on a fresh `read()` until it passes (or rethrows its last failure after `ms`):
 * for assertions on a page or a system that reaches the checked state a little later.
 */
export async function expectEventually<T>(read: () => T | Promise<T>, check: (v: T) => void, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
