import { OriginScheduler } from '../../lambdas/shared/adapters/http-sender';

describe('OriginScheduler (per-origin turns of the HTTP sender)', () => {
  const O = 'https://hooks.example.com';

  it('admits up to the limit at once, then hands freed slots round-robin across keys', async () => {
    const s = new OriginScheduler(1);
    await expect(s.acquire(O, 'A', 60_000)).resolves.toBe('granted');
    const order: string[] = [];
    const waits = ['A1', 'A2', 'A3', 'B1', 'B2', 'C1'].map((label) =>
      s.acquire(O, label[0] as string, 60_000).then((admission) => {
        order.push(`${label}:${admission}`);
      }),
    );
    for (let i = 0; i < 6; i++) {
      s.release(O);
      await Promise.resolve();
    }
    await Promise.all(waits);
    expect(order).toEqual(['A1:granted', 'B1:granted', 'C1:granted', 'A2:granted', 'B2:granted', 'A3:granted']);
  });

  it('keeps origins apart: a full origin does not hold up another', async () => {
    const s = new OriginScheduler(1);
    await expect(s.acquire(O, 'A', 60_000)).resolves.toBe('granted');
    await expect(s.acquire('https://other.example.com', 'A', 60_000)).resolves.toBe('granted');
  });

  it("lets a waiter go after its wait ('queued') or its signal ('aborted'), without taking a slot", async () => {
    const s = new OriginScheduler(1);
    await s.acquire(O, 'A', 60_000);
    await expect(s.acquire(O, 'B', 10)).resolves.toBe('queued');
    const controller = new AbortController();
    const aborted = s.acquire(O, 'C', 60_000, controller.signal);
    controller.abort();
    await expect(aborted).resolves.toBe('aborted');
    const next = s.acquire(O, 'D', 60_000);
    s.release(O);
    await expect(next).resolves.toBe('granted');
    s.release(O);
    // Everything released: a new request is admitted at once.
    await expect(s.acquire(O, 'E', 0)).resolves.toBe('granted');
  });
});
