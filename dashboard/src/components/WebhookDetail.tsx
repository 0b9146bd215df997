import { useEffect, useRef, useState } from 'preact/hooks';
import { EVENT_TYPES, type EventType } from '../../../lambdas/shared/contract';
import { useAccess } from '../access';
import { ApiError, type ApiClient } from '../api';
import { Link, navigate, paths } from '../router';
import type { CreatedWebhook, SecretInfo, TestResult, Webhook, WebhookHealth } from '../types';
import { busyButton, ConfirmDialog, Loading, SecretField, SignatureSnippet, StatusBadge, Switch, useHeadingFocus, useNotifier, When } from './common';
import { Deliveries } from './Deliveries';
import { Stats } from './Stats';
import { SamplePayloads } from './SamplePayloads';
import { Breadcrumbs, EVENT_DESCRIPTIONS } from './WebhookForm';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One webhook: its settings, signing secret, a test send, the delivery log and the sample payloads. */
export function WebhookDetail(props: {
  readonly api: ApiClient;
  readonly webhookId: string;
  /** The create response, when the user just created this webhook: its secret is shown once. */
  readonly created: CreatedWebhook | undefined;
  readonly onSecretSeen: () => void;
}) {
  const { api, webhookId } = props;
  const { notify } = useNotifier();
  const { readOnly } = useAccess();
  const [webhook, setWebhook] = useState<Webhook | undefined>(props.created);
  const [loadError, setLoadError] = useState('');
  const [toggling, setToggling] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  /** Bumped after a test send, so the delivery log reloads. */
  const [deliveriesVersion, setDeliveriesVersion] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  // The one-time secret stays on screen while the user is on this page, then is dropped.
  const [createdSecret] = useState(props.created?.secret);
  useEffect(() => props.onSecretSeen, []);
  useHeadingFocus(heading, webhook !== undefined);

  useEffect(() => {
    api.getWebhook(webhookId).then(setWebhook, (err: unknown) =>
      setLoadError(err instanceof ApiError && err.status === 404 ? 'This webhook does not exist (any more).' : `Could not load the webhook: ${message(err)}`),
    );
  }, [api, webhookId]);

  if (loadError) {
    return (
      <>
        <Breadcrumbs />
        <h1>Webhook</h1>
        <p class="error-box" role="alert">
          {loadError} <Link href={paths.list()}>Back to webhooks</Link>
        </p>
      </>
    );
  }
  if (!webhook) return <Loading what="the webhook" />;

  const toggle = async (enabled: boolean) => {
    setToggling(true);
    try {
      const updated = await api.updateWebhook(webhook.id, { enabled });
      setWebhook(updated);
      notify(`“${updated.name}” ${updated.enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      notify(`Could not ${enabled ? 'enable' : 'disable'} the webhook: ${message(err)}`, 'error');
    } finally {
      setToggling(false);
    }
  };

  const remove = async () => {
    setDeleting(true);
    try {
      await api.deleteWebhook(webhook.id);
      notify(`“${webhook.name}” deleted.`);
      navigate(paths.list());
    } catch (err) {
      setDeleting(false);
      setConfirmDelete(false);
      notify(`Could not delete the webhook: ${message(err)}`, 'error');
    }
  };

  const headerNames = Object.keys(webhook.headers);
  // A read-only session gets names only from the API: nothing to reveal.
  const headerValuesWithheld = readOnly;
  return (
    <>
      <Breadcrumbs />
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          {webhook.name}
        </h1>
        {!readOnly && (
          <div class="actions">
            <Link href={paths.edit(webhook.id)} class="button">
              Edit
            </Link>
            <button type="button" class="danger-quiet" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          </div>
        )}
      </div>

      <HealthStatus health={webhook.health} />

      {createdSecret && (
        <section class="panel created" aria-labelledby="created-title">
          <h2 id="created-title">Webhook created: copy its signing secret</h2>
          <p>
            This is the only time the secret is shown with the new webhook; you can reveal it again below. Store it with your receiver, which uses it to
            verify that deliveries come from us.
          </p>
          <SecretField secret={createdSecret} label="Signing secret" />
          <h3>Verifying the signature</h3>
          <SignatureSnippet />
        </section>
      )}

      <section class="panel" aria-labelledby="settings-title">
        <h2 id="settings-title" class="visually-hidden">
          Settings
        </h2>
        <dl class="props">
          <dt>Status</dt>
          <dd>
            <StatusBadge status={webhook.status} />
            {webhook.disabledReason && <p class="reason">{webhook.disabledReason}</p>}
            {webhook.status === 'auto-disabled' && (
              <p class="hint">Fix the endpoint, switch the webhook on, then recover the skipped deliveries below.</p>
            )}
          </dd>
          <dt>Enabled</dt>
          <dd>
            {readOnly ? (
              webhook.enabled ? 'On' : 'Off'
            ) : (
              <Switch checked={webhook.enabled} label={`${webhook.name} enabled`} busy={toggling} onChange={(on) => void toggle(on)} />
            )}
          </dd>
          <dt>URL</dt>
          <dd class="url">
            <code>{webhook.url}</code>
          </dd>
          <dt>Event types</dt>
          <dd>
            <ul class="plain">
              {webhook.eventTypes.map((t) => (
                <li key={t}>
                  <code>{t}</code> <span class="muted">{EVENT_DESCRIPTIONS[t]}</span>
                </li>
              ))}
            </ul>
          </dd>
          <dt>Description</dt>
          <dd>{webhook.description || <span class="muted">none</span>}</dd>
          <dt>Rate limit</dt>
          <dd>
            {webhook.rateLimit !== undefined ? (
              `${webhook.rateLimit} ${webhook.rateLimit === 1 ? 'delivery' : 'deliveries'} per second`
            ) : (
              <span class="muted">none</span>
            )}
          </dd>
          <dt>Filter</dt>
          <dd>
            {webhook.filter !== undefined ? (
              <pre class="mono filter-pattern" aria-label="Payload filter (EventBridge event pattern)">
                {JSON.stringify(webhook.filter, null, 2)}
              </pre>
            ) : (
              <span class="muted">none: every visit of these event types</span>
            )}
          </dd>
          <dt>Headers</dt>
          <dd>
            {headerNames.length === 0 ? (
              <span class="muted">none</span>
            ) : (
              headerValuesWithheld ? (
                <ul class="plain">
                  {headerNames.map((h) => (
                    <li key={h}>
                      <code>{h}</code>
                    </li>
                  ))}
                </ul>
              ) : (
                <HeaderValues headers={webhook.headers} />
              )
            )}
          </dd>
          <dt>Created</dt>
          <dd>
            <When iso={webhook.createdAt} />
          </dd>
        </dl>
      </section>

      {!readOnly && <SecretSection api={api} webhookId={webhook.id} />}
      {!readOnly && <TestSection api={api} webhook={webhook} onSent={() => setDeliveriesVersion((v) => v + 1)} />}
      <Stats api={api} webhookId={webhook.id} version={deliveriesVersion} />
      <Deliveries api={api} webhookId={webhook.id} version={deliveriesVersion} />
      {!createdSecret && (
        <section class="panel" aria-labelledby="verify-title">
          <h2 id="verify-title">Verifying the signature</h2>
          <SignatureSnippet />
        </section>
      )}
      <SamplePayloads />

      <ConfirmDialog open={confirmDelete} title="Delete this webhook?" confirmLabel="Delete webhook" danger busy={deleting} onConfirm={() => void remove()} onCancel={() => setConfirmDelete(false)}>
        <p>“{webhook.name}” stops receiving events now, and its delivery log goes with it. This cannot be undone.</p>
      </ConfirmDialog>
    </>
  );
}


/**
 * Custom headers: names shown, values hidden until "Show values" (the same on the edit form).
 * Values are often credentials for the endpoint, and a settings page ends up in screen shares
 * and screenshots; the API (for backends) returns them as they are.
 */
function HeaderValues({ headers }: { readonly headers: Readonly<Record<string, string>> }) {
  const [shown, setShown] = useState(false);
  return (
    <>
      <ul class="plain header-values">
        {Object.entries(headers).map(([name, value]) => (
          <li key={name}>
            <code>{name}</code>: {shown ? <code class="header-value">{value}</code> : <span class="masked" aria-label="value hidden">••••••••</span>}
          </li>
        ))}
      </ul>
      <button type="button" class="link" aria-pressed={shown} onClick={() => setShown((s) => !s)}>
        {shown ? 'Hide values' : 'Show values'}
      </button>
    </>
  );
}

/**
 * The webhook's delivery health (API `health`) in a status region: paused deliveries while the
 * breaker is open or probing, their release once the endpoint recovered, and the slow lane.
 * The region is always in the page, so a change is announced; it is empty while all is well.
 */
export function HealthStatus({ health }: { readonly health: WebhookHealth | undefined }) {
  const breaker = health?.breaker ?? 'closed';
  const paused = breaker === 'open' || breaker === 'probing';
  const probeDue = health?.nextProbeAt !== undefined && Date.parse(health.nextProbeAt) <= Date.now();
  return (
    <div class="health" role="status">
      {paused && health && (
        <div class="notice notice-paused">
          <p>
            <strong>Deliveries paused:</strong> the endpoint failed{health.reason ? ` (${health.reason})` : ''}
            {health.since && (
              <>
                {' '}
                since <When iso={health.since} />
              </>
            )}
            {breaker === 'probing' ? (
              ' — testing the endpoint now.'
            ) : health.nextProbeAt && !probeDue ? (
              <>
                {' '}
                — next test at <When iso={health.nextProbeAt} />.
              </>
            ) : (
              ' — next test due now.'
            )}
          </p>
          <p class="hint">New deliveries are kept, shown as “pending (paused)” below, and sent once a test delivery gets through. None are lost.</p>
        </div>
      )}
      {breaker === 'releasing' && (
        <div class="notice">
          <p>
            <strong>Releasing paused deliveries:</strong> the endpoint answered again, so the deliveries kept while it failed are being sent, a few a second.
          </p>
        </div>
      )}
      {health?.slowLaneUntil && (
        <div class="notice">
          <p>
            <strong>Slow endpoint:</strong> deliveries go through the slow lane until <When iso={health.slowLaneUntil} />: your endpoint took too long to answer, so
            deliveries get a longer timeout and may arrive a little later.
          </p>
        </div>
      )}
    </div>
  );
}

function SecretSection({ api, webhookId }: { readonly api: ApiClient; readonly webhookId: string }) {
  const { notify } = useNotifier();
  const [secret, setSecret] = useState<SecretInfo | undefined>();
  const [busy, setBusy] = useState(false);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [rotated, setRotated] = useState(false);

  const reveal = async () => {
    setBusy(true);
    try {
      setSecret(await api.getSecret(webhookId));
      setRotated(false);
    } catch (err) {
      notify(`Could not reveal the secret: ${message(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const rotate = async () => {
    setBusy(true);
    try {
      setSecret(await api.rotateSecret(webhookId));
      setRotated(true);
      notify('Secret rotated. The new secret is shown; the previous one keeps signing for 24 hours.');
    } catch (err) {
      notify(`Could not rotate the secret: ${message(err)}`, 'error');
    } finally {
      setBusy(false);
      setConfirmRotate(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret</h2>
      <p>Every delivery is signed with this secret (HMAC-SHA256, Standard Webhooks). Keep it private.</p>
      {secret && (
        <>
          <SecretField secret={secret.secret} label={rotated ? 'New signing secret' : 'Signing secret'} />
          {secret.previousSecretExpiresAt && (
            <p class="hint">
              The previous secret also signs until <When iso={secret.previousSecretExpiresAt} />: update
              your receiver before then.
            </p>
          )}
        </>
      )}
      <div class="actions">
        {secret ? (
          <button type="button" onClick={() => setSecret(undefined)}>
            Hide secret
          </button>
        ) : (
          <button type="button" onClick={() => !busy && void reveal()} {...busyButton(busy)}>
            Reveal secret
          </button>
        )}
        <button type="button" onClick={() => !busy && setConfirmRotate(true)} {...busyButton(busy)}>
          Rotate secret…
        </button>
      </div>
      <ConfirmDialog open={confirmRotate} title="Rotate the signing secret?" confirmLabel="Rotate secret" busy={busy} onConfirm={() => void rotate()} onCancel={() => setConfirmRotate(false)}>
        <p>
          A new secret starts signing now. For 24 hours the current one signs too (two signatures in <code>webhook-signature</code>), so your receiver
          keeps verifying while you update it.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function TestSection({ api, webhook, onSent }: { readonly api: ApiClient; readonly webhook: Webhook; readonly onSent: () => void }) {
  const [eventType, setEventType] = useState<EventType>(webhook.eventTypes[0] ?? EVENT_TYPES[0]);
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<TestResult | undefined>();
  const [error, setError] = useState('');

  const send = async (e: Event) => {
    e.preventDefault();
    if (sending) return;
    setSending(true);
    setResult(undefined);
    setError('');
    try {
      setResult(await api.sendTest(webhook.id, eventType));
      onSent();
    } catch (err) {
      setError(`Could not send: ${message(err)}`);
    } finally {
      setSending(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="test-title">
      <h2 id="test-title">Send test event</h2>
      <p>Sends the sample payload of an event type to {webhook.url} now, signed like a real delivery. Test sends are logged but never retried.</p>
      <form class="inline-form" onSubmit={send}>
        <div class="field">
          <label for="test-event-type">Event type</label>
          <select id="test-event-type" value={eventType} onChange={(e) => setEventType(e.currentTarget.value as EventType)}>
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="primary" {...busyButton(sending)}>
          {sending ? 'Sending…' : 'Send test event'}
        </button>
      </form>
      <div class="result" role="status" aria-live="polite">
        {result && (
          <div class={`test-result ${result.status}`}>
            <p>
              <StatusBadge status={result.status} />{' '}
              {result.status === 'delivered' ? 'Delivered' : 'Failed'}
              {result.statusCode !== undefined ? `: HTTP ${result.statusCode}` : ''}
              {result.errorKind ? ` (${result.errorKind})` : ''} in {result.durationMs} ms.
            </p>
            <p class="hint webhook-id">
              webhook-id <code>{result.deliveryId}</code>
            </p>
            {result.error && <p class="reason">{result.error}</p>}
            {result.responseSnippet && (
              <details>
                <summary>Response body</summary>
                <pre>{result.responseSnippet}</pre>
              </details>
            )}
          </div>
        )}
        {error && <p class="field-error">{error}</p>}
      </div>
    </section>
  );
}
