import { useEffect, useRef, useState } from 'preact/hooks';
import { useAccess } from '../access';
import type { ApiClient } from '../api';
import { Link, paths } from '../router';
import type { Delivery, Webhook } from '../types';
import { BreakableUrl, ConfirmDialog, Loading, StatusBadge, Switch, useHeadingFocus, useNotifier, When } from './common';

type LastDelivery = Delivery | null | 'error';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Settings → Webhooks: every webhook of the account with its newest delivery, toggle, edit and delete. */
export function WebhookList({ api }: { readonly api: ApiClient }) {
  const { notify } = useNotifier();
  const { readOnly } = useAccess();
  const heading = useRef<HTMLHeadingElement>(null);
  const [webhooks, setWebhooks] = useState<Webhook[] | undefined>();
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loadError, setLoadError] = useState('');
  const [last, setLast] = useState<Record<string, LastDelivery>>({});
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [toDelete, setToDelete] = useState<Webhook | undefined>();
  const [deleting, setDeleting] = useState(false);
  useHeadingFocus(heading);

  const loadLastDeliveries = (items: readonly Webhook[]) => {
    for (const w of items) {
      api.listDeliveries(w.id, { limit: 1 }).then(
        (page) => setLast((l) => ({ ...l, [w.id]: page.items[0] ?? null })),
        () => setLast((l) => ({ ...l, [w.id]: 'error' })),
      );
    }
  };

  const load = async (cursor: string | null) => {
    try {
      const page = await api.listWebhooks(cursor);
      setWebhooks((current) => (cursor && current ? [...current, ...page.items] : page.items));
      setNextCursor(page.nextCursor);
      setLoadError('');
      loadLastDeliveries(page.items);
    } catch (err) {
      setLoadError(`Could not load webhooks: ${message(err)}`);
    }
  };

  useEffect(() => {
    void load(null);
  }, [api]);

  const replace = (updated: Webhook) => setWebhooks((list) => list?.map((w) => (w.id === updated.id ? updated : w)));

  const toggle = async (webhook: Webhook, enabled: boolean) => {
    setBusy((b) => ({ ...b, [webhook.id]: true }));
    try {
      const updated = await api.updateWebhook(webhook.id, { enabled });
      replace(updated);
      notify(`“${updated.name}” ${updated.enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      notify(`Could not ${enabled ? 'enable' : 'disable'} “${webhook.name}”: ${message(err)}`, 'error');
    } finally {
      setBusy((b) => ({ ...b, [webhook.id]: false }));
    }
  };

  const confirmDelete = async () => {
    if (!toDelete) return;
    setDeleting(true);
    try {
      await api.deleteWebhook(toDelete.id);
      setWebhooks((list) => list?.filter((w) => w.id !== toDelete.id));
      notify(`“${toDelete.name}” deleted.`);
      setToDelete(undefined);
      heading.current?.focus();
    } catch (err) {
      notify(`Could not delete “${toDelete.name}”: ${message(err)}`, 'error');
      setToDelete(undefined);
    } finally {
      setDeleting(false);
    }
  };

  return (
    <>
      <div class="page-head">
        <h1 ref={heading} tabIndex={-1}>
          Settings → Webhooks
        </h1>
        {!readOnly && (
          <Link href={paths.create()} class="button primary">
            Create webhook
          </Link>
        )}
      </div>
      <p class="lead">We send a signed POST to each enabled webhook whenever one of its events happens.</p>

      {loadError && (
        <p class="error-box" role="alert">
          {loadError}{' '}
          <button type="button" class="link" onClick={() => void load(null)}>
            Try again
          </button>
        </p>
      )}
      {!webhooks && !loadError && <Loading what="webhooks" />}
      {webhooks?.length === 0 && (
        <div class="empty">
          <p>No webhooks yet. Create one to receive NEW_VISIT and NEW_VISITOR events at your endpoint.</p>
        </div>
      )}
      {webhooks && webhooks.length > 0 && (
        <table class="cards webhooks">
          <caption class="visually-hidden">Webhooks</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Last delivery</th>
              <th scope="col">Enabled</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.id} data-webhook-id={w.id}>
                <th scope="row" data-label="Name">
                  <Link href={paths.detail(w.id)}>{w.name}</Link>
                </th>
                <td data-label="URL" class="url">
                  <BreakableUrl url={w.url} title />
                </td>
                <td data-label="Events">{w.eventTypes.join(', ')}</td>
                <td data-label="Status">
                  <StatusBadge status={w.status} />
                  {w.status === 'auto-disabled' && w.disabledReason && <p class="reason">{w.disabledReason}</p>}
                  {(w.health?.breaker === 'open' || w.health?.breaker === 'probing') && <p class="reason">deliveries paused: the endpoint keeps failing</p>}
                </td>
                <td data-label="Last delivery">
                  <LastDeliveryCell delivery={last[w.id]} />
                </td>
                <td data-label="Enabled">
                  {readOnly ? (
                    w.enabled ? 'On' : 'Off'
                  ) : (
                    <Switch checked={w.enabled} label={`${w.name} enabled`} busy={busy[w.id] ?? false} onChange={(on) => void toggle(w, on)} />
                  )}
                </td>
                <td class="row-actions">
                  {!readOnly && (
                    <>
                      <Link href={paths.edit(w.id)} class="button" aria-label={`Edit ${w.name}`}>
                        Edit
                      </Link>
                      <button type="button" class="danger-quiet" aria-label={`Delete ${w.name}`} onClick={() => setToDelete(w)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor && (
        <button type="button" onClick={() => void load(nextCursor)}>
          Show more webhooks
        </button>
      )}

      <ConfirmDialog
        open={toDelete !== undefined}
        title="Delete this webhook?"
        confirmLabel="Delete webhook"
        danger
        busy={deleting}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setToDelete(undefined)}
      >
        <p>
          “{toDelete?.name}” stops receiving events now, and its delivery log goes with it. This cannot be undone; to pause deliveries instead, switch
          it off.
        </p>
      </ConfirmDialog>
    </>
  );
}

function LastDeliveryCell({ delivery }: { readonly delivery: LastDelivery | undefined }) {
  if (delivery === undefined) return <span class="muted">…</span>;
  if (delivery === 'error') return <span class="muted">unavailable</span>;
  if (delivery === null) return <span class="muted">none yet</span>;
  const code = delivery.lastStatusCode ?? delivery.attempts.at(-1)?.statusCode;
  return (
    <span class="last-delivery">
      <StatusBadge status={delivery.status} />
      {code !== undefined && <span> HTTP {code}</span>}{' '}
      <When iso={delivery.updatedAt} />
    </span>
  );
}
