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
