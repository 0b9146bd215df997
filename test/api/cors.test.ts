import { API } from '../../lambdas/shared/contract';
import { type ApiTestContext, startApi } from './support';

describe('CORS on the API function responses (the dashboard origin)', () => {
  let ctx: ApiTestContext;
  beforeAll(async () => {
    ctx = await startApi();
  });
  afterAll(() => ctx.close());

  it('echoes an allowed Origin, also on errors, and nothing for other origins', async () => {
    const api = ctx.client({ env: { ...ctx.h.env, [API.corsOriginsEnv]: 'https://dash.example.com, https://other.example.com' } });
    const key = await ctx.keyFor('acc_cors');
    const ok = await api.call('GET', '/v1/webhooks', { key, headers: { Origin: 'https://dash.example.com' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example.com');
    expect(ok.headers.vary).toBe('Origin');
    const missing = await api.call('GET', '/v1/webhooks/wh_nope', { key, headers: { origin: 'https://other.example.com' } });
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('https://other.example.com');
    const evil = await api.call('GET', '/v1/webhooks', { key, headers: { Origin: 'https://evil.example.com' } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const key = await ctx.keyFor('acc_cors2');
    const res = await ctx.api.call('GET', '/v1/webhooks', { key, headers: { Origin: 'https://dash.example.com' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
