import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redrive } from '../../lambdas/shared/domain/redrive';
import { LocalQueue } from '../../local/queue';
import { ManualClock } from '../../local/harness/fakes';

describe('LocalQueue (SQS semantics)', () => {
  it('delays, hides received messages for the visibility timeout, and counts receives', () => {
    const clock = new ManualClock(0);
    const q = new LocalQueue('q', { visibilityTimeoutSeconds: 30, clock });
    q.sendMessage('a', { delaySeconds: 10 });
    expect(q.receiveMessages(10)).toHaveLength(0);
    clock.advance(10_000);
    const [first] = q.receiveMessages(10);
    expect(first).toMatchObject({ body: 'a', receiveCount: 1 });
    expect(q.receiveMessages(10)).toHaveLength(0);
    clock.advance(30_000);
    const [again] = q.receiveMessages(10);
    expect(again?.receiveCount).toBe(2);
    q.deleteMessage(first!.receiptHandle); // stale handle: ignored
    expect(q.size()).toBe(1);
    q.deleteMessage(again!.receiptHandle);
    expect(q.size()).toBe(0);
  });

  it('moves a message to its DLQ after maxReceiveCount receives', () => {
    const clock = new ManualClock(0);
    const dlq = new LocalQueue('dlq', { visibilityTimeoutSeconds: 30, clock });
    const q = new LocalQueue('q', { visibilityTimeoutSeconds: 1, maxReceiveCount: 3, deadLetterQueue: dlq, clock });
    q.sendMessage('poison', { attributes: { k: 'v' } });
    for (let i = 0; i < 3; i++) {
      expect(q.receiveMessages(1)).toHaveLength(1);
      clock.advance(1000);
    }
    expect(q.receiveMessages(1)).toHaveLength(0);
    expect(q.size()).toBe(0);
    expect(dlq.peek(1)).toEqual([{ body: 'poison', attributes: { k: 'v', sourceQueue: 'q' } }]);
  });

  it('survives a restart through its journal, in-flight messages visible again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-'));
    try {
      const journalPath = join(dir, 'q.jsonl');
      const q1 = new LocalQueue('q', { visibilityTimeoutSeconds: 300, journalPath });
      q1.sendMessage('keep');
      q1.sendMessage('done');
      const received = q1.receiveMessages(2);
      q1.deleteMessage(received.find((m) => m.body === 'done')!.receiptHandle);
      const q2 = new LocalQueue('q', { visibilityTimeoutSeconds: 300, journalPath });
      const again = q2.receiveMessages(10);
      expect(again.map((m) => m.body)).toEqual(['keep']);
      expect(again[0]?.receiveCount).toBe(2); // the receive before the restart counts, as on SQS
      const q3 = new LocalQueue('q', { visibilityTimeoutSeconds: 300, journalPath });
      expect(q3.receiveMessages(10)[0]?.receiveCount).toBe(3); // and survives compaction
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('redrive', () => {
  it('moves every message once, re-arms failed deliveries, and is safe to run twice', async () => {
    const dlq = new LocalQueue('failed', { visibilityTimeoutSeconds: 30 });
    const target = new LocalQueue('retry', { visibilityTimeoutSeconds: 30 });
    const failed = { kind: 'delivery-retry', accountId: 'a', webhookId: 'w', deliveryId: 'msg_1', eventId: 'e', eventType: 'NEW_VISIT', createdAt: '2026-01-01T00:00:00Z', retryIndex: 7, dueAt: 5, trigger: 'manual', payload: '{}' };
    dlq.sendMessage(JSON.stringify(failed), { attributes: { reason: 'gave up' } });
    dlq.sendMessage('{"raw":true}', { attributes: { reason: 'other' } });

    const dry = await redrive(dlq, target, { dryRun: true });
    expect(dry).toEqual({ moved: 0, reasons: { 'gave up': 1, other: 1 } });

    expect(dlq.size()).toBe(2);
    expect((await redrive(dlq, target)).moved).toBe(2);
    expect((await redrive(dlq, target)).moved).toBe(0); // a second run finds nothing to move
    const moved = target.peek(10).map((m) => JSON.parse(m.body) as Record<string, unknown>);
    expect(moved[0]).toMatchObject({ deliveryId: 'msg_1', retryIndex: 0, dueAt: 0, trigger: 'retry' });
    expect(moved[1]).toEqual({ raw: true });
  });
});
