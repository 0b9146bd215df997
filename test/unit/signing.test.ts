import { Webhook as StandardWebhook } from 'standardwebhooks';
import { generateSecret, secretKey, sign, signatureHeader } from '../../lambdas/shared/domain/signing';

describe('signing (Standard Webhooks)', () => {
  it('reproduces the published Svix test vector', () => {
    const key = secretKey('whsec_plJ3nmyCDGBKInavdOK15jsl');
    expect(sign(key, 'msg_loFOjxBNrRLzqYUf', 1731705121, '{"event_type":"ping","data":{"success":true}}')).toBe(
      'v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=',
    );
  });

  it('produces signatures the public standardwebhooks library verifies', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ id: 'v1', url: 'https://example.com/é' });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secretKey(secret)], 'msg_1', ts, body) };
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('rejects a tampered body with the public library', () => {
    const secret = generateSecret();
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secretKey(secret)], 'msg_1', ts, '{"a":1}') };
    expect(() => new StandardWebhook(secret).verify('{"a":2}', headers)).toThrow();
  });

  it('sends one signature per key during a rotation, each verifiable with its own secret', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const body = '{"id":"x"}';
    const ts = Math.floor(Date.now() / 1000);
    const header = signatureHeader([secretKey(newSecret), secretKey(oldSecret)], 'msg_2', ts, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(ts), 'webhook-signature': header };
    expect(new StandardWebhook(newSecret).verify(body, headers)).toEqual({ id: 'x' });
    expect(new StandardWebhook(oldSecret).verify(body, headers)).toEqual({ id: 'x' });
    expect(() => new StandardWebhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });

  it('refuses an empty secret', () => {
    expect(() => secretKey('whsec_')).toThrow(/empty/);
  });
});
