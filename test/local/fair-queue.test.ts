import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../local/harness/fakes';
import { LocalQueue } from '../../local/queue';

/** The local retry queue as an SQS fair queue: round-robin across message groups, FIFO within one. */
describe('LocalQueue message groups (fair queue)', () => {
  const bodies = (q: LocalQueue, max: number) => q.receiveMessages(max).map((m) => m.body);

  it('gives a group with 1,000 visible messages and a group with 1 alternate turns, FIFO within each', () => {
    const q = new LocalQueue('retry', { visibilityTimeoutSeconds: 30, clock: new ManualClock(0) });
    for (let i = 0; i < 1000; i++) q.sendMessage(`noisy-${i}`, { groupId: 'wh_noisy' });
    q.sendMessage('quiet-0', { groupId: 'wh_quiet' });
    q.sendMessage('quiet-1', { groupId: 'wh_quiet' });

    // Within one receive: one message per group per turn.
    expect(bodies(q, 4)).toEqual(['noisy-0', 'quiet-0', 'noisy-1', 'quiet-1']);
    // Once the quiet group has nothing visible, the noisy one gets every turn, in order.
    expect(bodies(q, 3)).toEqual(['noisy-2', 'noisy-3', 'noisy-4']);

    // Across receives of one message: a new message of the quiet group is next, not after the backlog.
    q.sendMessage('quiet-2', { groupId: 'wh_quiet' });
    expect(bodies(q, 1)).toEqual(['quiet-2']);
    expect(bodies(q, 1)).toEqual(['noisy-5']);
    q.sendMessage('quiet-3', { groupId: 'wh_quiet' });
    q.sendMessage('quiet-4', { groupId: 'wh_quiet' });
    expect([...bodies(q, 1), ...bodies(q, 1), ...bodies(q, 1), ...bodies(q, 1)]).toEqual(['quiet-3', 'noisy-6', 'quiet-4', 'noisy-7']);
    expect(q.size()).toBe(1002 + 3);
    expect(q.groupSizes()).toEqual({ wh_noisy: 1000, wh_quiet: 5 });
  });

  it('takes turns across three groups, the group longest without a turn first', () => {
    const q = new LocalQueue('retry', { visibilityTimeoutSeconds: 30, clock: new ManualClock(0) });
    for (const g of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) q.sendMessage(`${g}${i}`, { groupId: g });
    expect(bodies(q, 5)).toEqual(['a0', 'b0', 'c0', 'a1', 'b1']);
    // c was served before a and b's second turn: it goes first now.
    const next = q.receiveMessages(2);
    expect(next.map((m) => m.body)).toEqual(['c1', 'a2']);
    expect(next.map((m) => m.groupId)).toEqual(['c', 'a']);
    for (const m of next) q.deleteMessage(m.receiptHandle);
    expect(bodies(q, 10)).toEqual(['b2', 'c2']);
  });

  it('keeps delays, visibility timeouts and receive counts per message; a delayed group keeps its place in line', () => {
    const clock = new ManualClock(0);
    const q = new LocalQueue('retry', { visibilityTimeoutSeconds: 30, clock });
    q.sendMessage('late-0', { groupId: 'late', delaySeconds: 10 });
    for (let i = 0; i < 5; i++) q.sendMessage(`busy-${i}`, { groupId: 'busy' });
    expect(bodies(q, 2)).toEqual(['busy-0', 'busy-1']); // the delayed message is not visible yet
    clock.advance(10_000);
    // Due now: the late group, not served yet, goes before the busy one.
    expect(bodies(q, 2)).toEqual(['late-0', 'busy-2']);
    clock.advance(30_000);
    // Visibility timeout over: the earlier receives come back, FIFO in their group, with their counts
    // (the late group was served before the busy one last time: its turn comes first).
    const again = q.receiveMessages(10);
    expect(again.map((m) => [m.body, m.receiveCount])).toEqual([
      ['late-0', 2],
      ['busy-0', 2],
      ['busy-1', 2],
      ['busy-2', 2],
      ['busy-3', 1],
      ['busy-4', 1],
    ]);
  });

  it('moves a message past maxReceiveCount to the DLQ in its group, and serves the next one of that group', () => {
    const clock = new ManualClock(0);
    const dlq = new LocalQueue('retry-dlq', { visibilityTimeoutSeconds: 30, clock });
    const q = new LocalQueue('retry', { visibilityTimeoutSeconds: 1, maxReceiveCount: 2, deadLetterQueue: dlq, clock });
    q.sendMessage('poison', { groupId: 'g', attributes: { k: 'v' } });
    for (let i = 0; i < 2; i++) {
      expect(bodies(q, 1)).toEqual(['poison']);
      clock.advance(1000);
    }
    q.sendMessage('fine', { groupId: 'g' });
    expect(bodies(q, 10)).toEqual(['fine']);
    expect(dlq.peek(1)).toEqual([{ body: 'poison', attributes: { k: 'v', sourceQueue: 'retry' } }]);
    expect(dlq.receiveMessages(1)[0]?.groupId).toBe('g');
  });

  it('without group ids, is the plain queue it was: oldest visible first', () => {
    const clock = new ManualClock(0);
    const q = new LocalQueue('events', { visibilityTimeoutSeconds: 30, clock });
    q.sendMessage('a');
    q.sendMessage('b', { delaySeconds: 5 });
    q.sendMessage('c');
    const first = q.receiveMessages(10);
    expect(first.map((m) => m.body)).toEqual(['a', 'c']);
    expect(first[0]?.groupId).toBeUndefined();
    clock.advance(5_000);
    expect(bodies(q, 10)).toEqual(['b']);
  });

  describe('journal', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fair-queue-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('round-trips group ids through a restart and a compaction, with receive counts and deletes', () => {
      const journalPath = join(dir, 'retry.jsonl');
      const q1 = new LocalQueue('retry', { visibilityTimeoutSeconds: 300, journalPath });
      q1.sendMessage('n0', { groupId: 'noisy' });
      q1.sendMessage('n1', { groupId: 'noisy' });
      q1.sendMessage('n2', { groupId: 'noisy' });
      q1.sendMessage('q0', { groupId: 'quiet' });
      q1.sendMessage('d0');
      const [n0] = q1.receiveMessages(1);
      q1.deleteMessage(n0!.receiptHandle);
      q1.receiveMessages(1); // q0: in flight at the "crash"

      const q2 = new LocalQueue('retry', { visibilityTimeoutSeconds: 300, journalPath });
      expect(q2.groupSizes()).toEqual({ noisy: 2, quiet: 1, '': 1 });
      const again = q2.receiveMessages(10);
      expect(again.map((m) => [m.body, m.groupId, m.receiveCount])).toEqual([
        ['n1', 'noisy', 1],
        ['q0', 'quiet', 2],
        ['d0', undefined, 1],
        ['n2', 'noisy', 1],
      ]);
      // The compacted journal keeps the group ids (and writes none for the default group).
      const sends = readFileSync(journalPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { op: string; groupId?: string; body?: string })
        .filter((e) => e.op === 'send');
      expect(sends.map((e) => [e.body, e.groupId])).toEqual([
        ['n1', 'noisy'],
        ['n2', 'noisy'],
        ['q0', 'quiet'],
        ['d0', undefined],
      ]);
      const q3 = new LocalQueue('retry', { visibilityTimeoutSeconds: 300, journalPath });
      expect(q3.groupSizes()).toEqual({ noisy: 2, quiet: 1, '': 1 });
    });

    it('reads a journal written before groups existed: its messages are in the default group', () => {
      const journalPath = join(dir, 'retry.jsonl');
      writeFileSync(
        journalPath,
        [
          { op: 'send', id: 'm1', body: 'old-1', attributes: {}, sentAt: 0, visibleAt: 0 },
          { op: 'send', id: 'm2', body: 'old-2', attributes: { a: 'b' }, sentAt: 0, visibleAt: 0 },
          { op: 'receive', id: 'm1' },
        ]
          .map((e) => JSON.stringify(e))
          .join('\n') + '\n',
      );
      appendFileSync(journalPath, '{"op":"send","id":"m3","bo'); // a torn last line
      const q = new LocalQueue('retry', { visibilityTimeoutSeconds: 300, journalPath });
      q.sendMessage('new', { groupId: 'wh_1' });
      expect(q.groupSizes()).toEqual({ '': 2, wh_1: 1 });
      const got = q.receiveMessages(10);
      expect(got.map((m) => [m.body, m.groupId, m.receiveCount])).toEqual([
        ['old-1', undefined, 2],
        ['new', 'wh_1', 1],
        ['old-2', undefined, 1],
      ]);
      expect(got[2]?.attributes).toEqual({ a: 'b' });
    });
  });
});
