import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type ApiTestContext, startApi } from './support';

describe('signing secrets at rest', () => {
  let ctx: ApiTestContext;
  beforeAll(async () => {
    ctx = await startApi();
  });
  afterAll(() => ctx.close());

  it('stores created and rotated secrets encrypted, never in plaintext, and reveals them decrypted', async () => {
    const key = await ctx.keyFor('acc_rest');
    const created = await ctx.api.call<{ id: string; secret: string }>('POST', '/v1/webhooks', {
      key,
      body: { name: 'n', url: 'http://127.0.0.1:9/hook', eventTypes: ['NEW_VISIT'] },
    });
    expect(created.status).toBe(201);
    const raw = async () =>
      (await ctx.h.doc.send(new GetCommand({ TableName: ctx.h.tables.webhooks, Key: { accountId: 'acc_rest', webhookId: created.body.id } }))).Item ?? {};
    const item = await raw();
    expect(item.secret).toMatch(/^enc:v1:/);
    expect(JSON.stringify(item)).not.toContain(created.body.secret.slice('whsec_'.length));

    const rotated = await ctx.api.call<{ secret: string }>('POST', `/v1/webhooks/${created.body.id}/secret/rotate`, { key });
    const after = await raw();
    expect(after.secret).toMatch(/^enc:v1:/);
    expect(after.previousSecret).toMatch(/^enc:v1:/);
    expect(JSON.stringify(after)).not.toContain(rotated.body.secret.slice('whsec_'.length));
    const revealed = await ctx.api.call<{ secret: string }>('GET', `/v1/webhooks/${created.body.id}/secret`, { key });
    expect(revealed.body.secret).toBe(rotated.body.secret);
  });
});
