import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AccessContext } from './access';
import { type PortalSession, portalSessionFromFragment } from './portal-session';
import { ApiError, type ApiClient, createApiClient } from './api';
import { KeyGate } from './components/KeyGate';
import { NotifierContext, type Notifier } from './components/common';
import { WebhookDetail } from './components/WebhookDetail';
import { WebhookForm } from './components/WebhookForm';
import { WebhookList } from './components/WebhookList';
import { Link, parseRoute, paths, usePathname } from './router';
import type { CreatedWebhook } from './types';

const KEY_STORAGE = 'visit-webhooks.apiKey';
const SESSION_STORAGE = 'visit-webhooks.portalSession';

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
 * The portal session of this tab: one just opened (the URL fragment, removed from the address
 * bar at once) or one kept in session storage from earlier in the tab (a reload, a link inside
 * the app). A session replaces any API key of the tab.
 */
function portalSession(): PortalSession | undefined {
  const opened = portalSessionFromFragment(location.hash);
  if (opened) {
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
    try {
      sessionStorage.setItem(SESSION_STORAGE, JSON.stringify(opened));
      sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage disabled: the session lives for this page only
    }
    return opened;
  }
  try {
    const kept = JSON.parse(sessionStorage.getItem(SESSION_STORAGE) ?? 'null') as PortalSession | null;
    return kept && typeof kept.token === 'string' ? { token: kept.token, readOnly: kept.readOnly === true } : undefined;
  } catch {
    return undefined;
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
  const [session] = useState(portalSession);
  const [sessionEnded, setSessionEnded] = useState(false);
  const [apiKey, setApiKey] = useState(() => session?.token ?? storedKey());
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
    () =>
      apiKey
        ? withUnauthorizedHandler(createApiClient(apiBase, apiKey), () => {
            if (!session) return forget('The API refused your key (it may have been revoked). Enter a key again.');
            // A portal session has no key to fall back to: it ended, and the platform opens a new one.
            try {
              sessionStorage.removeItem(SESSION_STORAGE);
            } catch {
              // storage disabled
            }
            setSessionEnded(true);
          })
        : undefined,
    [apiBase, apiKey, forget, session],
  );

  if (sessionEnded) {
    return (
      <>
        <TopBar />
        <main id="main" class="narrow">
          <h1>Webhooks</h1>
          <p class="error-box" role="alert">
            This session has ended. Open Settings → Webhooks again from the page you came from.
          </p>
        </main>
      </>
    );
  }

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
    case 'edit':
      page = session?.readOnly ? (
        <ReadOnlyNotice />
      ) : (
        <WebhookForm api={api} {...(route.page === 'edit' ? { webhookId: route.id } : {})} onCreated={setCreated} />
      );
      break;
    case 'detail':
      page = <WebhookDetail key={route.id} api={api} webhookId={route.id} created={created?.id === route.id ? created : undefined} onSecretSeen={() => setCreated(undefined)} />;
      break;
    default:
      page = <WebhookList api={api} />;
  }

  return (
    <AccessContext.Provider value={{ readOnly: session?.readOnly === true }}>
    <NotifierContext.Provider value={notifier}>
      {session ? <TopBar home readOnly={session.readOnly} /> : <TopBar home onForget={() => forget()} />}
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
    </AccessContext.Provider>
  );
}

function ReadOnlyNotice() {
  return (
    <>
      <h1>Webhooks</h1>
      <p class="notice">
        This view is read-only: webhooks can be looked at, not changed. <Link href={paths.list()}>Back to webhooks</Link>
      </p>
    </>
  );
}

function TopBar({ onForget, home, readOnly }: { readonly onForget?: () => void; readonly home?: boolean; readonly readOnly?: boolean }) {
  return (
    <header class="topbar">
      {home ? (
        <Link href={paths.list()} class="brand">
          Visit webhooks
        </Link>
      ) : (
        <span class="brand">Visit webhooks</span>
      )}
      {readOnly && <span class="badge">read-only</span>}
      {onForget && (
        <button type="button" class="link" onClick={onForget}>
          Forget API key
        </button>
      )}
    </header>
  );
}
