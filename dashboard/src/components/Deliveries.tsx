import { useEffect, useRef, useState } from 'preact/hooks';
import { useAccess } from '../access';
import type { ApiClient } from '../api';
import { dateTime, duration, localInputToIso, localInputValue } from '../format';
import type { Delivery, DeliveryStatus, RecoveryJob } from '../types';
import { busyButton, StatusBadge, useNotifier, When } from './common';

const STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed', 'skipped'];
const PAGE_SIZE = 20;
/** How the attempts list names what started an attempt. */
const TRIGGER_LABELS: Readonly<Record<string, string>> = { probe: 'probe (test of the endpoint)', recover: 'recover (a recovery you started)' };
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The attempt log of one webhook, newest first, with retry of failed deliveries and "recover since". */
export function Deliveries({ api, webhookId, version }: { readonly api: ApiClient; readonly webhookId: string; readonly version: number }) {
  const { notify } = useNotifier();
  const { readOnly } = useAccess();
  const [items, setItems] = useState<Delivery[] | undefined>();
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [filter, setFilter] = useState<DeliveryStatus | ''>('');
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [retrying, setRetrying] = useState<Record<string, boolean>>({});
  const request = useRef(0);

  const load = async (cursor: string | null) => {
    const n = ++request.current;
    setLoading(true);
    try {
      const page = await api.listDeliveries(webhookId, { limit: PAGE_SIZE, cursor, status: filter });
      if (n !== request.current) return; // a newer load (filter change) won
      setItems((current) => (cursor && current ? [...current, ...page.items] : page.items));
      setNextCursor(page.nextCursor);
      setError('');
    } catch (err) {
      if (n === request.current) setError(`Could not load deliveries: ${message(err)}`);
    } finally {
      if (n === request.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load(null);
  }, [api, webhookId, filter, version]);

  const retry = async (delivery: Delivery) => {
    setRetrying((r) => ({ ...r, [delivery.id]: true }));
    try {
      await api.retryDelivery(webhookId, delivery.id);
      notify(`Retry of the ${delivery.eventType} delivery queued.`);
      setItems((list) => list?.map((d) => (d.id === delivery.id ? { ...d, status: 'pending' } : d)));
      // The attempt runs in the background; show its outcome shortly.
      setTimeout(() => void load(null), 1500);
    } catch (err) {
      notify(`Could not retry: ${message(err)}`, 'error');
    } finally {
      setRetrying((r) => ({ ...r, [delivery.id]: false }));
    }
  };

  return (
    <section class="panel" aria-labelledby="deliveries-title">
      <div class="section-head">
        <h2 id="deliveries-title">Deliveries</h2>
        <div class="inline-form">
          <label for="delivery-filter">Status</label>
          <select id="delivery-filter" value={filter} onChange={(e) => setFilter(e.currentTarget.value as DeliveryStatus | '')}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void load(null)} {...busyButton(loading)}>
            Refresh
          </button>
        </div>
      </div>
      {error && (
        <p class="error-box" role="alert">
          {error}
        </p>
      )}
      {items === undefined && !error && <p class="muted">Loading deliveries…</p>}
      {items?.length === 0 && <p class="muted">{filter ? `No ${filter} deliveries.` : 'No deliveries yet. Send a test event to see one here.'}</p>}
      {items && items.length > 0 && (
        <table class="cards deliveries" aria-busy={loading}>
          <caption class="visually-hidden">Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">HTTP</th>
              <th scope="col">Duration</th>
              <th scope="col">Attempts</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => {
              const lastAttempt = d.attempts.at(-1);
              const code = d.lastStatusCode ?? lastAttempt?.statusCode;
              const paused = d.status === 'pending' && d.parked === true;
              return (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td data-label="Time">
                    <When iso={d.createdAt} />
                  </td>
                  <td data-label="Event">
                    <code>{d.eventType}</code>
                    {lastAttempt?.trigger === 'test' && <span class="muted"> (test)</span>}
                    {/* The delivery's id is the webhook-id header of each of its requests: what a receiver logs and dedupes on. */}
                    <p class="hint webhook-id">
                      webhook-id <code>{d.id}</code>
                    </p>
                  </td>
                  <td data-label="Status">
                    {paused ? <span class="badge badge-pending">pending (paused)</span> : <StatusBadge status={d.status} />}
                    {(d.reason ?? d.lastError) && d.status !== 'delivered' && <p class="reason">{d.reason ?? d.lastError}</p>}
                    {paused && !d.reason && <p class="hint">paused: sent once the endpoint is back</p>}
                    {d.nextAttemptAt && d.status === 'pending' && !paused && (
                      <p class="hint">
                        next attempt <When iso={d.nextAttemptAt} />
                      </p>
                    )}
                  </td>
                  <td data-label="HTTP">{code ?? '—'}</td>
                  <td data-label="Duration">{lastAttempt ? duration(lastAttempt.durationMs) : '—'}</td>
                  <td data-label="Attempts">
                    {d.attempts.length === 0 ? (
                      d.attemptCount
                    ) : (
                      <details>
                        <summary>{d.attemptCount}</summary>
                        <ol class="attempts">
                          {d.attempts.map((a, i) => (
                            <li key={i}>
                              <When iso={a.at} /> · {TRIGGER_LABELS[a.trigger] ?? a.trigger} · {a.ok ? 'ok' : 'failed'}
                              {a.statusCode !== undefined ? ` · HTTP ${a.statusCode}` : ''} · {duration(a.durationMs)}
                              {a.error ? ` · ${a.errorKind ? `${a.errorKind}: ` : ''}${a.error}` : ''}
                            </li>
                          ))}
                        </ol>
                      </details>
                    )}
                  </td>
                  <td class="row-actions">
                    {d.status === 'failed' && !readOnly && (
                      <button type="button" onClick={() => !retrying[d.id] && void retry(d)} {...busyButton(retrying[d.id] ?? false)} aria-label={`Retry ${d.eventType} delivery of ${dateTime(d.createdAt)}`}>
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {nextCursor && (
        <button type="button" onClick={() => !loading && void load(nextCursor)} {...busyButton(loading)}>
          Show older deliveries
        </button>
      )}
      {!readOnly && <RecoverForm api={api} webhookId={webhookId} onRecovered={() => void load(null)} />}
    </section>
  );
}

function progress(job: RecoveryJob): string {
  const lost = job.unrecoverable > 0 ? ` ${job.unrecoverable} could not be sent again (their payload expired).` : '';
  if (job.status === 'running') return `Recovering… ${job.scanned} looked at, ${job.requeued} re-queued so far.${lost}`;
  if (job.scanned === 0) return 'Nothing to recover: no failed or skipped deliveries since then.';
  return `Re-queued ${job.requeued} deliveries; each gets the full retry schedule again.${lost}`;
}

function RecoverForm({ api, webhookId, onRecovered }: { readonly api: ApiClient; readonly webhookId: string; readonly onRecovered: () => void }) {
  const [since, setSince] = useState(() => localInputValue(new Date(Date.now() - 24 * 3_600_000)));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const iso = localInputToIso(since);
    setResult('');
    if (!iso) return setError('Enter a date and time.');
    setError('');
    setBusy(true);
    try {
      // The API answers at once with a job; a large recovery goes on in the background: follow it.
      let job = await api.recover(webhookId, iso);
      setResult(progress(job));
      while (job.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        job = await api.getRecovery(webhookId, job.id);
        setResult(progress(job));
      }
      onRecovered();
    } catch (err) {
      setError(`Could not recover: ${message(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="recover" onSubmit={submit} noValidate>
      <h3 id="recover-title">Recover since</h3>
      <p class="hint" id="recover-hint">
        Re-queues every failed or skipped delivery created since this time (your local time), e.g. after an outage or after switching an auto-disabled
        webhook back on.
      </p>
      <div class="inline-form">
        <label for="recover-since" class="visually-hidden">
          Recover deliveries since
        </label>
        <input
          id="recover-since"
          type="datetime-local"
          value={since}
          aria-describedby={`recover-hint${error ? ' recover-error' : ''}`}
          aria-invalid={error ? true : undefined}
          onInput={(e) => setSince(e.currentTarget.value)}
        />
        <button type="submit" {...busyButton(busy)}>
          {busy ? 'Recovering…' : 'Recover'}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {result && <p>{result}</p>}
      </div>
      {error && (
        <p class="field-error" id="recover-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
