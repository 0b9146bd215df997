import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { EVENT_TYPES, type EventType, LIMITS } from '../../../lambdas/shared/contract';
import { ApiError, type ApiClient } from '../api';
import { Link, navigate, paths } from '../router';
import type { CreatedWebhook, Webhook } from '../types';
import {
  EMPTY_FORM,
  type FieldErrors,
  type FilterPreview,
  formFromWebhook,
  headerRow,
  mapApiIssues,
  orderedErrorFields,
  previewFilter,
  reconcileErrors,
  toWebhookInput,
  validateWebhookForm,
  type WebhookFormValues,
} from '../validation';
import { busyButton, Loading, useHeadingFocus, useNotifier } from './common';

/** The customer guide's words for each event type. */
export const EVENT_DESCRIPTIONS: Readonly<Record<EventType, string>> = {
  NEW_VISIT: 'Fired when a new visit occurs.',
  NEW_VISITOR: 'Fired when a new visitor is created.',
  WEBHOOK_AUTO_DISABLED: 'Operational: another webhook of this account was disabled by the service (410 Gone, or days of failures).',
  DELIVERY_EXHAUSTED: 'Operational: a delivery to another webhook of this account failed after its last retry.',
  WEBHOOK_BREAKER_OPENED: "Operational: another webhook's endpoint kept failing, so its deliveries are paused.",
  WEBHOOK_BREAKER_CLOSED: "Operational: another webhook's endpoint is back, so its paused deliveries resume.",
};

/** Element ids of the fields, so error messages can link and focus them. */
const fieldId = (field: string): string => `wh-${field.replace(/[[\].]+/g, '-').replace(/-$/, '')}`;

const FIELD_LABELS: Record<string, string> = { name: 'Name', url: 'URL', eventTypes: 'Event types', description: 'Description', rateLimit: 'Rate limit', filter: 'Filter', headers: 'Headers' };
const labelOf = (field: string): string => {
  const m = /^headers\[(\d+)\]\.(name|value)$/.exec(field);
  return m ? `Header ${Number(m[1]) + 1} ${m[2]}` : (FIELD_LABELS[field] ?? 'Form');
};

/** Create webhook (no `webhookId`) or edit one: the customer guide's fields, validated here and by the API. */
export function WebhookForm({ api, webhookId, onCreated }: { readonly api: ApiClient; readonly webhookId?: string; readonly onCreated: (w: CreatedWebhook) => void }) {
  const { notify } = useNotifier();
  const editing = webhookId !== undefined;
  const [original, setOriginal] = useState<Webhook | undefined>();
  const [values, setValues] = useState<WebhookFormValues>(editing ? EMPTY_FORM : { ...EMPTY_FORM, eventTypes: ['NEW_VISIT'] });
  const [errors, setErrors] = useState<FieldErrors>({});
  /** The values the errors on screen were found in: an edit since then re-checks its field. */
  const [errorsFor, setErrorsFor] = useState<WebhookFormValues>(EMPTY_FORM);
  const [loadError, setLoadError] = useState('');
  const [saving, setSaving] = useState(false);
  /** Header values are masked until "Show values", as on the webhook's page. */
  const [valuesShown, setValuesShown] = useState(false);
  const [focusTarget, setFocusTarget] = useState<{ field: string; n: number } | undefined>();
  /** The last "check against the sample payloads" result, for the filter as it was then. */
  const [preview, setPreview] = useState<Extract<FilterPreview, { ok: true }> | undefined>();
  const heading = useRef<HTMLHeadingElement>(null);
  const summary = useRef<HTMLDivElement>(null);
  const ready = !editing || original !== undefined;
  useHeadingFocus(heading, ready);

  useEffect(() => {
    if (!webhookId) return;
    api.getWebhook(webhookId).then(
      (w) => {
        setOriginal(w);
        setValues(formFromWebhook(w));
      },
      (err: unknown) => setLoadError(err instanceof ApiError && err.status === 404 ? 'This webhook does not exist (any more).' : `Could not load the webhook: ${String(err instanceof Error ? err.message : err)}`),
    );
  }, [api, webhookId]);

  // Focus moves as soon as the element to focus is in the DOM, before the browser paints, so a
  // keystroke typed right after "Add header" lands in the new field, not on the button.
  useLayoutEffect(() => {
    if (!focusTarget) return;
    const el = focusTarget.field === 'summary' ? summary.current : document.getElementById(fieldId(focusTarget.field));
    (el as HTMLElement | null)?.focus();
  }, [focusTarget]);

  const focusField = (field: string) => setFocusTarget((f) => ({ field, n: (f?.n ?? 0) + 1 }));
  const set = <K extends keyof WebhookFormValues>(key: K, value: WebhookFormValues[K]) => setValues((v) => ({ ...v, [key]: value }));
  const setHeader = (index: number, patch: { name?: string; value?: string }) =>
    setValues((v) => ({ ...v, headers: v.headers.map((row, i) => (i === index ? { ...row, ...patch } : row)) }));
  const addHeader = () => {
    setValues((v) => ({ ...v, headers: [...v.headers, headerRow()] }));
    focusField(`headers[${values.headers.length}].name`);
  };
  const removeHeader = (index: number) => {
    setValues((v) => ({ ...v, headers: v.headers.filter((_, i) => i !== index) }));
    // Errors are keyed by row position: they would point at the wrong rows now.
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !k.startsWith('headers'))));
    const remaining = values.headers.length - 1;
    focusField(remaining === 0 ? 'add-header' : `headers[${Math.min(index, remaining - 1)}].name`);
  };
  /** Checks the filter against the sample payload of each chosen event type (all, if none is chosen) with the delivery path's matcher. */
  const checkFilter = () => {
    const result = previewFilter(values.filter, values.eventTypes.length > 0 ? EVENT_TYPES.filter((t) => values.eventTypes.includes(t)) : EVENT_TYPES);
    if (result.ok) {
      setErrors(({ filter: _dropped, ...rest }) => rest);
      setPreview(result);
    } else {
      setErrors((e) => ({ ...e, filter: result.error }));
      // Found in the filter as it is now: it goes once the filter is edited into a valid one.
      setErrorsFor((f) => ({ ...f, filter: values.filter }));
      setPreview(undefined);
      focusField('filter');
    }
  };
  const toggleEvent = (type: EventType, on: boolean) => set('eventTypes', on ? [...values.eventTypes, type] : values.eventTypes.filter((t) => t !== type));

  const showErrors = (found: FieldErrors, shownFor: WebhookFormValues = values) => {
    setErrors(found);
    setErrorsFor(shownFor);
    focusField('summary');
  };

  // An error the user fixed goes as soon as it is fixed (and the summary with it).
  useEffect(() => {
    if (Object.keys(errors).length === 0) return;
    const next = reconcileErrors(errors, errorsFor, values);
    if (Object.keys(next).length !== Object.keys(errors).length || Object.entries(next).some(([k, v]) => errors[k] !== v)) {
      setErrors(next);
      setErrorsFor(values);
    }
  }, [values]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (saving) return;
    const found = validateWebhookForm(values);
    if (Object.keys(found).length > 0) return showErrors(found);
    setErrors({});
    setSaving(true);
    try {
      if (webhookId) {
        const saved = await api.updateWebhook(webhookId, toWebhookInput(values, true));
        notify(`“${saved.name}” saved.`);
        navigate(paths.detail(saved.id));
      } else {
        const created = await api.createWebhook(toWebhookInput(values));
        onCreated(created);
        notify(`“${created.name}” created.`);
        navigate(paths.detail(created.id));
      }
    } catch (err) {
      setSaving(false);
      if (err instanceof ApiError && err.details.length > 0) showErrors(mapApiIssues(err.details, values));
      else showErrors({ form: err instanceof Error ? err.message : String(err) });
    }
  };

  if (loadError) {
    return (
      <>
        <Breadcrumbs />
        <h1>Edit webhook</h1>
        <p class="error-box" role="alert">
          {loadError} <Link href={paths.list()}>Back to webhooks</Link>
        </p>
      </>
    );
  }
  if (!ready) return <Loading what="the webhook" />;

  const errorFields = orderedErrorFields(errors);
  const describedBy = (field: string, hint?: boolean) => [hint ? `${fieldId(field)}-hint` : '', errors[field] ? `${fieldId(field)}-error` : ''].filter(Boolean).join(' ') || undefined;
  const fieldError = (field: string) =>
    errors[field] ? (
      <p class="field-error" id={`${fieldId(field)}-error`}>
        {errors[field]}
      </p>
    ) : null;
  const invalid = (field: string) => (errors[field] ? true : undefined);

  return (
    <>
      <Breadcrumbs current={original} />
      <h1 ref={heading} tabIndex={-1}>
        {editing ? 'Edit webhook' : 'Create webhook'}
      </h1>

      {errorFields.length > 0 && (
        <div class="error-summary" ref={summary} tabIndex={-1} aria-labelledby="error-summary-title">
          <h2 id="error-summary-title">{errorFields.length === 1 ? 'Fix this to continue' : `Fix these ${errorFields.length} problems to continue`}</h2>
          <ul>
            {errorFields.map((field) => (
              <li key={field}>
                {field === 'form' ? (
                  errors.form
                ) : (
                  <a
                    href={`#${fieldId(field === 'eventTypes' ? 'eventTypes-NEW_VISIT' : field === 'headers' ? 'add-header' : field)}`}
                    onClick={(ev) => {
                      ev.preventDefault();
                      focusField(field === 'eventTypes' ? `eventTypes-${EVENT_TYPES[0]}` : field === 'headers' ? 'add-header' : field);
                    }}
                  >
                    {labelOf(field)}: {errors[field]}
                  </a>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}

      <form class="webhook-form" onSubmit={submit} noValidate aria-busy={saving}>
        <div class="field">
          <label for={fieldId('name')}>Name</label>
          <p class="hint" id={`${fieldId('name')}-hint`}>
            A friendly name to identify your webhook, e.g. “Notify My CRM”.
          </p>
          <input
            id={fieldId('name')}
            value={values.name}
            autocomplete="off"
            aria-invalid={invalid('name')}
            aria-describedby={describedBy('name', true)}
            onInput={(e) => set('name', e.currentTarget.value)}
          />
          {fieldError('name')}
        </div>

        <div class="field">
          <label for={fieldId('url')}>URL</label>
          <p class="hint" id={`${fieldId('url')}-hint`}>
            The endpoint we send POST requests to. Use https://.
          </p>
          <input
            id={fieldId('url')}
            type="url"
            inputMode="url"
            class="mono"
            value={values.url}
            placeholder="https://example.com/webhooks"
            autocomplete="off"
            spellcheck={false}
            aria-invalid={invalid('url')}
            aria-describedby={describedBy('url', true)}
            onInput={(e) => set('url', e.currentTarget.value)}
          />
          {fieldError('url')}
        </div>

        <fieldset class="field" aria-describedby={describedBy('eventTypes')}>
          <legend>Event types</legend>
          {EVENT_TYPES.map((type) => (
            <div class="check" key={type}>
              <input
                type="checkbox"
                id={fieldId(`eventTypes-${type}`)}
                checked={values.eventTypes.includes(type)}
                aria-invalid={invalid('eventTypes')}
                aria-describedby={`${fieldId(`eventTypes-${type}`)}-hint`}
                onChange={(e) => toggleEvent(type, e.currentTarget.checked)}
              />
              <label for={fieldId(`eventTypes-${type}`)}>
                <code>{type}</code>
              </label>
              <span class="hint" id={`${fieldId(`eventTypes-${type}`)}-hint`}>
                {EVENT_DESCRIPTIONS[type]}
              </span>
            </div>
          ))}
          {fieldError('eventTypes')}
        </fieldset>

        <div class="field">
          <label for={fieldId('description')}>
            Description <span class="optional">(optional)</span>
          </label>
          <p class="hint" id={`${fieldId('description')}-hint`}>
            Notes about this webhook, e.g. “Triggers Slack notifications”. At most {LIMITS.descriptionMaxLength} characters.
          </p>
          <textarea
            id={fieldId('description')}
            rows={3}
            value={values.description}
            aria-invalid={invalid('description')}
            aria-describedby={describedBy('description', true)}
            onInput={(e) => set('description', e.currentTarget.value)}
          />
          {fieldError('description')}
        </div>

        <div class="field">
          <label for={fieldId('rateLimit')}>
            Rate limit <span class="optional">(deliveries per second, optional)</span>
          </label>
          <p class="hint" id={`${fieldId('rateLimit')}-hint`}>
            At most this many deliveries a second go to your endpoint, from {LIMITS.rateLimitMin} to {LIMITS.rateLimitMax}. Deliveries beyond it wait their
            turn; none are dropped. Leave empty for no limit.
          </p>
          <input
            id={fieldId('rateLimit')}
            class="narrow-input"
            inputMode="numeric"
            value={values.rateLimit}
            autocomplete="off"
            spellcheck={false}
            aria-invalid={invalid('rateLimit')}
            aria-describedby={describedBy('rateLimit', true)}
            onInput={(e) => set('rateLimit', e.currentTarget.value)}
          />
          {fieldError('rateLimit')}
        </div>

        <div class="field">
          <label for={fieldId('filter')}>
            Filter <span class="optional">(JSON, optional)</span>
          </label>
          <p class="hint" id={`${fieldId('filter')}-hint`}>
            Deliver only the visits whose payload matches this EventBridge event pattern, e.g. <code>{'{"params": {"utm_source": ["newsletter"]}}'}</code> or{' '}
            <code>{'{"location": {"country": [{"anything-but": ["United States"]}]}}'}</code>. Payload values such as <code>hardwareConcurrency</code> are strings:
            match them as <code>["6"]</code>, not with <code>numeric</code>. Leave empty to receive every visit of the chosen event types.
          </p>
          <textarea
            id={fieldId('filter')}
            class="mono"
            rows={5}
            value={values.filter}
            spellcheck={false}
            autocomplete="off"
            aria-invalid={invalid('filter')}
            aria-describedby={describedBy('filter', true)}
            onInput={(e) => {
              set('filter', e.currentTarget.value);
              setPreview(undefined);
            }}
          />
          {fieldError('filter')}
          <button type="button" id={fieldId('check-filter')} onClick={checkFilter}>
            Check against the sample payloads
          </button>
          <div role="status" class="filter-preview" id={fieldId('filter-preview')}>
            {preview && (
              <ul class="plain">
                {preview.results.map(({ eventType, matches }) => (
                  <li key={eventType} class={matches ? 'would-match' : 'would-not-match'}>
                    The <code>{eventType}</code> sample {matches ? <strong>would match</strong> : <strong>would not match</strong>}
                    {values.filter.trim() === '' ? ' (no filter: every visit is delivered)' : ''}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>

        <fieldset class="field headers" aria-describedby={describedBy('headers', true)}>
          <legend>
            Headers <span class="optional">(optional)</span>
          </legend>
          <p class="hint" id={`${fieldId('headers')}-hint`}>
            Custom headers sent with every delivery, for authentication or versioning; at most {LIMITS.headersMaxCount}. Setting <code>X-Webhook-Signature</code> sends
            your static token in that header instead of the signature.
          </p>
          {values.headers.map((row, i) => (
            <div class="header-row" key={row.key}>
              <div class="header-cell">
                <label for={fieldId(`headers[${i}].name`)}>
                  Name<span class="visually-hidden"> of header {i + 1}</span>
                </label>
                <input
                  id={fieldId(`headers[${i}].name`)}
                  class="mono"
                  value={row.name}
                  autocomplete="off"
                  spellcheck={false}
                  placeholder="X-Api-Version"
                  aria-invalid={invalid(`headers[${i}].name`)}
                  aria-describedby={describedBy(`headers[${i}].name`)}
                  onInput={(e) => setHeader(i, { name: e.currentTarget.value })}
                />
                {fieldError(`headers[${i}].name`)}
              </div>
              <div class="header-cell">
                <label for={fieldId(`headers[${i}].value`)}>
                  Value<span class="visually-hidden"> of header {i + 1}</span>
                </label>
                {/* Masked like a password until "Show values" (never offered for saving: new-password). */}
                <input
                  id={fieldId(`headers[${i}].value`)}
                  {...(valuesShown ? { type: 'text' } : { type: 'password' })}
                  class="mono"
                  value={row.value}
                  autocomplete={valuesShown ? 'off' : 'new-password'}
                  spellcheck={false}
                  aria-invalid={invalid(`headers[${i}].value`)}
                  aria-describedby={describedBy(`headers[${i}].value`)}
                  onInput={(e) => setHeader(i, { value: e.currentTarget.value })}
                />
                {fieldError(`headers[${i}].value`)}
              </div>
              <button type="button" class="danger-quiet remove" onClick={() => removeHeader(i)}>
                Remove<span class="visually-hidden"> header {i + 1}</span>
              </button>
            </div>
          ))}
          {fieldError('headers')}
          {values.headers.length > 0 && (
            <button type="button" class="link" aria-pressed={valuesShown} onClick={() => setValuesShown((v) => !v)}>
              {valuesShown ? 'Hide values' : 'Show values'}
            </button>
          )}{' '}
          <button type="button" id={fieldId('add-header')} onClick={addHeader} disabled={values.headers.length >= LIMITS.headersMaxCount}>
            Add header
          </button>
        </fieldset>

        <div class="actions">
          <button type="submit" class="primary" {...busyButton(saving)}>
            {saving ? 'Saving…' : editing ? 'Save changes' : 'Create'}
          </button>
          <Link href={webhookId ? paths.detail(webhookId) : paths.list()} class="button">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

export function Breadcrumbs({ current }: { readonly current?: Webhook | undefined }) {
  return (
    <nav aria-label="Breadcrumb" class="crumbs">
      <ol>
        <li>Settings</li>
        <li>
          <Link href={paths.list()}>Webhooks</Link>
        </li>
        {current && (
          <li>
            <Link href={paths.detail(current.id)}>{current.name}</Link>
          </li>
        )}
      </ol>
    </nav>
  );
}
