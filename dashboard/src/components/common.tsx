import type { ComponentChildren, RefObject } from 'preact';
import { createContext, Fragment } from 'preact';
import { useContext, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { DeliveryStatus, WebhookStatus } from '../types';
import { dateTime } from '../format';
import { hasNavigated } from '../router';

/** Announcements in the page's live regions: `status` is polite, `error` is an alert. */
export interface Notifier {
  notify(message: string, kind?: 'status' | 'error'): void;
}
export const NotifierContext = createContext<Notifier>({ notify: () => undefined });
export const useNotifier = (): Notifier => useContext(NotifierContext);

/** Moves focus to a page's heading once it is shown, after an in-app navigation (not on first load). */
export function useHeadingFocus(ref: RefObject<HTMLElement | null>, ready = true): void {
  useEffect(() => {
    if (ready && hasNavigated()) ref.current?.focus();
  }, [ready]);
}

/**
 * A time, in the dashboard's one format: the local date and time to the second ("Nov 28, 2026,
 * 17:04:09"), in a <time> element. Absolute everywhere, so a row can be matched to a receiver's
 * log line, and nothing on the page goes stale while it is open.
 */
export function When({ iso }: { readonly iso: string }) {
  return <time dateTime={iso}>{dateTime(iso)}</time>;
}

/** A URL that wraps after `/`, `?`, `&` and `#` rather than mid-word, for narrow columns. */
export function BreakableUrl({ url, title = false }: { readonly url: string; readonly title?: boolean }) {
  const parts = url.split(/(?<=[/?&#])(?!\/)/);
  return (
    <code class="url-text" {...(title ? { title: url } : {})}>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </code>
  );
}

export function StatusBadge({ status }: { readonly status: WebhookStatus | DeliveryStatus }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/**
 * Props for a button that is busy: `aria-disabled` rather than `disabled`, so a keyboard user's
 * focus stays on it while the request runs (a disabled button drops focus to the page).
 */
export function busyButton(busy: boolean): { 'aria-disabled'?: true } {
  return busy ? { 'aria-disabled': true } : {};
}

/** A switch for a boolean that is saved at once (the list's and the detail page's enabled toggle). */
export function Switch(props: { readonly checked: boolean; readonly label: string; readonly busy?: boolean; readonly onChange: (checked: boolean) => void }) {
  return (
    <button
      type="button"
      role="switch"
      class="switch"
      aria-checked={props.checked}
      aria-label={props.label}
      aria-busy={props.busy ?? false}
      {...busyButton(props.busy ?? false)}
      onClick={() => {
        if (!props.busy) props.onChange(!props.checked);
      }}
    >
      <span class="switch-track" aria-hidden="true">
        <span class="switch-thumb" />
      </span>
      <span class="switch-text" aria-hidden="true">
        {props.checked ? 'On' : 'Off'}
      </span>
    </button>
  );
}

/** A modal confirmation on the native <dialog> (focus trap, Esc, inert page); focus returns to the opener. */
export function ConfirmDialog(props: {
  readonly open: boolean;
  readonly title: string;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  readonly busy?: boolean;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
  readonly children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
    } else if (!props.open && dialog.open) {
      dialog.close();
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    }
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      <div class="actions">
        <button type="button" autofocus onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          class={props.danger ? 'danger' : 'primary'}
          {...busyButton(props.busy ?? false)}
          onClick={() => {
            if (!props.busy) props.onConfirm();
          }}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Copies text to the clipboard and says whether it worked. */
export function CopyButton({ text, label = 'Copy' }: { readonly text: string; readonly label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => setState('idle'), [text]);
  const copy = () => {
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return setState('failed');
    clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
  };
  return (
    <>
      <button type="button" onClick={copy}>
        {label}
      </button>
      <span class="copy-state" role="status">
        {state === 'copied' ? 'Copied.' : state === 'failed' ? 'Could not copy: select the text and copy it.' : ''}
      </span>
    </>
  );
}

/** A secret in a read-only field (select-all on focus) with a copy button. */
export function SecretField({ secret, label }: { readonly secret: string; readonly label: string }) {
  const id = useId();
  return (
    <div class="secret">
      <label for={id}>{label}</label>
      <div class="secret-row">
        <input id={id} class="mono" readOnly value={secret} spellcheck={false} autocomplete="off" onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={secret} />
      </div>
    </div>
  );
}

const VERIFY_SNIPPET = `// npm install standardwebhooks express
import express from 'express';
import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.WEBHOOK_SECRET); // "whsec_…"
const app = express();

// Verify the raw bytes: the signature covers the body exactly as sent.
app.post('/webhook', express.raw({ type: 'application/json' }), (req, res) => {
  let visit;
  try {
    // Checks webhook-signature (HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}")
    // and rejects timestamps more than 5 minutes away.
    visit = wh.verify(req.body.toString('utf8'), req.headers);
  } catch {
    return res.sendStatus(400);
  }
  const eventType = req.get('X-Webhook-Event'); // NEW_VISIT or NEW_VISITOR
  const dedupeKey = req.get('webhook-id');      // the same on every retry
  res.sendStatus(204);                          // answer 2xx fast; work asynchronously
  handle(eventType, dedupeKey, visit);
});`;

/** How a receiver checks a delivery (docs/design.md §5): Standard Webhooks, Node. */
export function SignatureSnippet() {
  return (
    <div class="snippet">
      <p>
        Every delivery carries <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code> headers (Standard
        Webhooks). Verify them with the <code>standardwebhooks</code> library for your language; in Node:
      </p>
      <pre tabIndex={0} aria-label="Node.js example: verifying the signature">
        <code>{VERIFY_SNIPPET}</code>
      </pre>
      <p class="muted">
        During a secret rotation <code>webhook-signature</code> carries two signatures, old and new; either one verifies. <code>X-Webhook-Signature</code> carries
        the same value, unless you set that header to a static token on the webhook.
      </p>
    </div>
  );
}

/** A short-lived "Loading…" that screen readers hear once. */
export function Loading({ what }: { readonly what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}
