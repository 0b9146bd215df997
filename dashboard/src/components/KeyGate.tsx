import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type ApiClient } from '../api';
import { busyButton } from './common';

/** Asks for the API key once; it is checked with one list call and kept in sessionStorage by the caller. */
export function KeyGate(props: { readonly message?: string; readonly makeClient: (key: string) => ApiClient; readonly onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(props.message ?? '');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const errorId = useId();
  useEffect(() => input.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter an API key.');
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      await props.makeClient(trimmed).listWebhooks(null, 1);
      props.onKey(trimmed);
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiError && err.status === 401 ? 'The API refused this key. Check it and try again.' : err instanceof Error ? err.message : String(err));
      input.current?.focus();
    }
  };

  return (
    <main id="main" class="narrow">
      <p class="crumbs">Settings</p>
      <h1>Webhooks</h1>
      <form onSubmit={submit} noValidate aria-busy={busy}>
        <div class="field">
          <label for={inputId}>API key</label>
          <p class="hint" id={`${inputId}-hint`}>
            Kept in this browser tab only (session storage). Running locally? <code>npm start</code> prints a demo key; <code>npm run apikey -- create --account &lt;id&gt;</code>{' '}
            mints another.
          </p>
          <input
            ref={input}
            id={inputId}
            type="password"
            class="mono"
            autocomplete="off"
            spellcheck={false}
            value={key}
            aria-invalid={error ? true : undefined}
            aria-describedby={`${inputId}-hint${error ? ` ${errorId}` : ''}`}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
          <p id={errorId} class="field-error" role="alert">
            {error}
          </p>
        </div>
        <button type="submit" class="primary" {...busyButton(busy)}>
          {busy ? 'Checking…' : 'Continue'}
        </button>
      </form>
    </main>
  );
}
