import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type ApiClient, createApiClient } from './api';
import { KeyGate } from './components/KeyGate';
import { NotifierContext, type Notifier } from './components/common';
import { WebhookDetail } from './components/WebhookDetail';
import { WebhookForm } from './components/WebhookForm';
import { WebhookList } from './components/WebhookList';
import { Link, parseRoute, paths, usePathname } from './router';
import type { CreatedWebhook } from './types';

const KEY_STORAGE = 'visit-webhooks.apiKey';

function storedKey(): string {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

function storeKey(key: string): void {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: the key lives for this page only
  }
}

/**
 * The API client handed to the pages: a 401 anywhere means the key was revoked or is wrong,
 * so the key is forgotten and the key form comes back with a message.
 */
function withUnauthorizedHandler(client: ApiClient, onUnauthorized: () => void): ApiClient {
  const wrapped = {} as Record<keyof ApiClient, unknown>;
  for (const name of Object.keys(client) as (keyof ApiClient)[]) {
    const fn = client[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) onUnauthorized();
        throw err;
      }
    };
  }
  return wrapped as ApiClient;
}

export function App({ apiBase }: { readonly apiBase: string }) {
  const [apiKey, setApiKey] = useState(storedKey);
  const [gateMessage, setGateMessage] = useState<string | undefined>();
  const [status, setStatus] = useState({ text: '', n: 0, nav: 0 });
  const [alert, setAlert] = useState({ text: '', n: 0, nav: 0 });
  /** The create response's secret, shown once on the new webhook's page and then dropped. */
  const [created, setCreated] = useState<CreatedWebhook | undefined>();
  const pathname = usePathname();
  const route = parseRoute(pathname);
  // A message outlives the navigation it caused ("created" on the new page), not the next one.
  const navigations = useRef(0);
  const [nav, setNav] = useState(0);
  useEffect(() => {
    navigations.current += 1;
    setNav(navigations.current);
  }, [pathname]);

  const notifier = useMemo<Notifier>(
    () => ({
      notify: (text, kind = 'status') => {
        // A counter makes a repeated message a new one for the live region.
        const at = navigations.current;
        if (kind === 'error') setAlert((a) => ({ text, n: a.n + 1, nav: at }));
        else setStatus((s) => ({ text, n: s.n + 1, nav: at }));
        if (kind === 'status') setAlert((a) => ({ ...a, text: '' }));
      },
    }),
    [],
  );

  const forget = useCallback((message?: string) => {
    storeKey('');
    setApiKey('');
    setGateMessage(message);
    setCreated(undefined);
  }, []);

  const api = useMemo(
    () => (apiKey ? withUnauthorizedHandler(createApiClient(apiBase, apiKey), () => forget('The API refused your key (it may have been revoked). Enter a key again.')) : undefined),
    [apiBase, apiKey, forget],
  );

  if (!api) {
    return (
      <>
        <TopBar />
        <KeyGate
          {...(gateMessage ? { message: gateMessage } : {})}
          makeClient={(key) => createApiClient(apiBase, key)}
          onKey={(key) => {
            storeKey(key);
            setApiKey(key);
            setGateMessage(undefined);
          }}
        />
      </>
    );
  }

  let page;
  switch (route.page) {
    case 'create':
      page = <WebhookForm api={api} onCreated={setCreated} />;
      break;
    case 'edit':
      page = <WebhookForm api={api} webhookId={route.id} onCreated={setCreated} />;
      break;
    case 'detail':
      page = <WebhookDetail key={route.id} api={api} webhookId={route.id} created={created?.id === route.id ? created : undefined} onSecretSeen={() => setCreated(undefined)} />;
      break;
    default:
      page = <WebhookList api={api} />;
  }

  return (
    <NotifierContext.Provider value={notifier}>
      <TopBar onForget={() => forget()} />
      <div class="live" role="status" aria-live="polite" aria-atomic="true">
        {status.text && nav - status.nav <= 1 && <p key={status.n}>{status.text}</p>}
      </div>
      <div class="live live-error" role="alert" aria-atomic="true">
        {alert.text && nav - alert.nav <= 1 && (
          <p key={alert.n}>
            {alert.text}{' '}
            <button type="button" class="link" onClick={() => setAlert((a) => ({ ...a, text: '' }))}>
              Dismiss
            </button>
          </p>
        )}
      </div>
      <main id="main">{page}</main>
    </NotifierContext.Provider>
  );
}

function TopBar({ onForget }: { readonly onForget?: () => void }) {
  return (
    <header class="topbar">
      {onForget ? (
        <Link href={paths.list()} class="brand">
          Visit webhooks
        </Link>
      ) : (
        <span class="brand">Visit webhooks</span>
      )}
      {onForget && (
        <button type="button" class="link" onClick={onForget}>
          Forget API key
        </button>
      )}
    </header>
  );
}
