import { ApiError, createApiClient, normalizeApiBase, toApiError } from '../../dashboard/src/api';
import { localInputToIso } from '../../dashboard/src/format';

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
}

/** A fetch answering `status` with `body`, recording each Request the typed client made. */
function fakeFetch(status: number, body: unknown, calls: Call[]) {
  return async (request: Request): Promise<Response> => {
    calls.push({ url: request.url, method: request.method, headers: request.headers, body: await request.text() });
    return new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
}

describe('dashboard API client', () => {
  it.each([
    [undefined, ''],
    ['', ''],
    ['https://abc.execute-api.eu-west-1.amazonaws.com/prod/', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod'],
    ['https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod'],
    ['https://api.example.com/v1/', 'https://api.example.com'],
  ])('normalizes the configured base %j', (configured, expected) => {
    expect(normalizeApiBase(configured)).toBe(expected);
  });

  it('sends the key as a bearer token and JSON bodies with their content type', async () => {
    const calls: Call[] = [];
    const api = createApiClient('https://api.example.com', 'vwk_key', fakeFetch(201, { id: 'wh_1', secret: 'whsec_x' }, calls));
    await api.createWebhook({ name: 'n', url: 'https://e.com', eventTypes: ['NEW_VISIT'], description: '', headers: {} });
    expect(calls[0]?.url).toBe('https://api.example.com/v1/webhooks');
    expect(calls[0]?.method).toBe('POST');
    expect(calls[0]?.headers.get('authorization')).toBe('Bearer vwk_key');
    expect(calls[0]?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(String(calls[0]?.body))).toEqual({ name: 'n', url: 'https://e.com', eventTypes: ['NEW_VISIT'], description: '', headers: {} });
  });

  it('builds the paths and queries of DESIGN §4, escaping ids', async () => {
    const calls: Call[] = [];
    const api = createApiClient('https://api.example.com/', 'k', fakeFetch(200, { items: [], nextCursor: null }, calls));
    await api.listDeliveries('wh_1', { limit: 1 });
    await api.listDeliveries('wh_1', { limit: 20, cursor: 'c/1', status: 'failed' });
    await api.listWebhooks(null);
    await api.retryDelivery('wh_1', 'msg_a/b');
    await api.recover('wh_1', '2026-11-01T00:00:00.000Z');
    await api.rotateSecret('wh 1');
    expect(calls.map((c) => `${c.method} ${c.url.replace('https://api.example.com', '')}`)).toEqual([
      'GET /v1/webhooks/wh_1/deliveries?limit=1',
      'GET /v1/webhooks/wh_1/deliveries?limit=20&cursor=c%2F1&status=failed',
      'GET /v1/webhooks?limit=100',
      'POST /v1/webhooks/wh_1/deliveries/msg_a%2Fb/retry',
      'POST /v1/webhooks/wh_1/recover',
      'POST /v1/webhooks/wh%201/secret/rotate',
    ]);
    expect(calls[3]?.body).toBe('');
  });

  it('turns error responses into ApiErrors with the field details', async () => {
    const body = { error: { code: 'validation_error', message: 'invalid webhook', details: [{ path: 'url', message: 'must be an https:// URL' }] } };
    const api = createApiClient('https://api.example.com', 'k', fakeFetch(400, body, []));
    const err = await api.createWebhook({ name: 'n', url: 'http://e.com', eventTypes: ['NEW_VISIT'], description: '', headers: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'validation_error', message: 'invalid webhook', details: [{ path: 'url', message: 'must be an https:// URL' }] });
  });

  it('copes with bodies that are not the API error shape', () => {
    expect(toApiError(502, undefined)).toMatchObject({ status: 502, code: 'http_error', details: [] });
    expect(toApiError(400, { error: { code: 'x', details: [{ path: 1 }, { path: 'a', message: 'b' }] } })).toMatchObject({ message: 'HTTP 400', details: [{ path: 'a', message: 'b' }] });
  });

  it('reports an unreachable API as status 0', async () => {
    const api = createApiClient('https://api.example.com', 'k', async () => {
      throw new TypeError('fetch failed');
    });
    await expect(api.getWebhook('wh_1')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('converts a datetime-local value to an ISO instant', () => {
    expect(localInputToIso('2026-11-01T10:30')).toBe(new Date(2026, 10, 1, 10, 30).toISOString());
    expect(localInputToIso('')).toBeUndefined();
    expect(localInputToIso('yesterday')).toBeUndefined();
  });
});
