import type { LocalStack } from '../../local/stack';
import { errorShapeProblem, httpCall, mintKey, type RawResponse, rawCall, startProductionRulesStack } from './support';

jest.setTimeout(60_000);

/**
 * A corpus of bad requests against the real local runtime HTTP server (gateway emulation, the
 * real authorizer and API handler) with production target rules. Every one must be answered
 * 4xx in the JSON error shape, never 5xx, and none may leave a webhook behind.
 */

const PUBLIC_URL = 'https://93.184.215.14/hook';
const VALID = { name: 'ok', url: PUBLIC_URL, eventTypes: ['NEW_VISIT'] };

interface Case {
  readonly name: string;
  readonly send: () => Promise<RawResponse>;
  /** A specific status, when the rule has one. */
  readonly status?: number;
}

const nest = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
const nestObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** Target URLs that are refused: wrong scheme, credentials, or an address that is not public in disguise. */
const BAD_URLS = [
  // shape and scheme
  '',
  'not a url',
  '/relative/path',
  '//93.184.215.14/x',
  'https://',
  `https://93.184.215.14/${'a'.repeat(2048)}`,
  'http://93.184.215.14/hook',
  'ftp://93.184.215.14/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:text/plain,hello',
  'ws://93.184.215.14/',
  'gopher://127.0.0.1:6379/_INFO',
  'https://93.184.215.14 /x',
  'https://93.184.215.14/\r\nx',
  'https://93.184.215.14/\tx',
  // userinfo
  'https://user:pass@93.184.215.14/',
  'https://user@93.184.215.14/',
  'https://@93.184.215.14/',
  'https://93.184.215.14@127.0.0.1/',
  'https://127.0.0.1#@93.184.215.14/',
  // loopback, private, link-local, metadata in every textual form
  'https://127.0.0.1/',
  'https://127.1/',
  'https://127.000.000.001/',
  'https://2130706433/',
  'https://017700000001/',
  'https://0177.0.0.01/',
  'https://0x7f000001/',
  'https://0x7f.0x0.0x0.0x1/',
  'https://%31%32%37.0.0.1/',
  'https://127.0.0.1./',
  'https://127.0.0.1%2e/',
  'https://0.0.0.0/',
  'https://0/',
  'https://0.0.0.0:443/',
  'https://[::]/',
  'https://[::]:443/',
  'https://[::1]/',
  'https://[0::1]/',
  'https://[::ffff:127.0.0.1]/',
  'https://[::ffff:7f00:1]:8443/',
  'https://[0:0:0:0:0:ffff:127.0.0.1]/',
  'https://[::127.0.0.1]/',
  'https://[::ffff:169.254.169.254]/',
  'https://[64:ff9b::a9fe:a9fe]/',
  'https://[2002:a9fe:a9fe::]/',
  'https://[fe80::1]/',
  'https://[fd00:ec2::254]/',
  'https://169.254.169.254/latest/meta-data/',
  'https://169.254.169.254./',
  'https://100.100.100.200/',
  'https://10.1/',
  'https://10.0.0.1:8443/',
  'https://192.168.0.1./',
  'https://172.16.0.1/',
  'https://100.64.0.1/',
  'https://224.0.0.1/',
  'https://255.255.255.255/',
  'https://127.0.0.1:6379/',
  'https://127.0.0.1:22/',
  // destination ports: never 0, nothing below 1024 but 80 and 443, no data-store ports
  'https://93.184.215.14:0/',
  'https://93.184.215.14:22/',
  'https://93.184.215.14:25/',
  'https://93.184.215.14:1023/',
  'https://93.184.215.14:6379/',
  'https://93.184.215.14:11211/',
  // private names and unicode look-alikes of them
  'https://localhost/',
  'https://localhost./',
  'https://LocalHost:8443/',
  'https://a.localhost./',
  'https://loc%61lhost/',
  'https://ⓛocalhost/',
  'https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/',
  'https://ＬＯＣＡＬＨＯＳＴ/',
  'https://loc\u00adalhost/',
  'https://local\u200bhost/',
  'https://127。0。0。1/',
  'https://１２７.０.０.１/',
  'https://①②⑦.0.0.1/',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://printer.local/',
];

describe('hostile API input through the local runtime HTTP server (production target rules)', () => {
  let stack: LocalStack;
  const serverLines: string[] = [];

  beforeAll(async () => {
    stack = await startProductionRulesStack(serverLines);
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A key for an account of the test's own, and one valid webhook of that account (as read back before any test touches it). */
  const ownWebhook = async (accountId: string): Promise<{ key: string; id: string; before: string }> => {
    const key = await mintKey(stack, accountId);
    const created = await httpCall(stack.port, 'POST', '/v1/webhooks', { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, JSON.stringify(VALID));
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.body) as { id: string }).id;
    return { key, id, before: (await httpCall(stack.port, 'GET', `/v1/webhooks/${id}`, { authorization: `Bearer ${key}` })).body };
  };

  it('answers every bad request 4xx in the JSON error shape, never 5xx, and stores nothing', async () => {
    const firstLine = serverLines.length;
    const keyA = await mintKey(stack, 'acc_corpus');
    const { key: keyB, id: patchId, before: patchBefore } = await ownWebhook('acc_corpus_patch');
    const json = (key: string, method: string, path: string, body: string | Buffer, contentType = 'application/json') => () =>
      httpCall(stack.port, method, path, { authorization: `Bearer ${key}`, 'content-type': contentType }, body);
    const create = (body: unknown) => json(keyA, 'POST', '/v1/webhooks', typeof body === 'string' ? body : JSON.stringify(body));
    const patch = (body: unknown) => json(keyB, 'PATCH', `/v1/webhooks/${patchId}`, typeof body === 'string' ? body : JSON.stringify(body));
    const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${keyA}` }) => () => httpCall(stack.port, 'GET', path, headers);
    const raw = (text: string | Buffer) => () => rawCall(stack.port, text);
    const cursor = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

    const cases: Case[] = [];
    const add = (name: string, send: () => Promise<RawResponse>, status?: number) => cases.push({ name, send, ...(status ? { status } : {}) });

    // Every validation rule of the create body, and wrong types for every field.
    const wrongTypes = [123, null, true, [], {}, ['x']];
    const fieldCases: Record<string, unknown[]> = {
      name: [
        ...['', ' ', '\t\n', 'x'.repeat(101), ...wrongTypes, '\ud800', 'ok\udfff'],
        // control characters and Unicode bidirectional controls (a name that displays as another)
        ...['\u0000', '\t', '\n', '\r', '\u001b[31m', '\u007f', '\u0085', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c'].map((c) => `invoice${c}fdp.exe`),
      ],
      url: [...BAD_URLS, ...wrongTypes],
      eventTypes: [[], ['FOO'], ['new_visit'], 'NEW_VISIT', [1], [null], Array(11).fill('NEW_VISIT'), null, {}, 5],
      description: ['x'.repeat(501), 5, [], {}, true, '\udc00', 'a\u0000b', 'a\u000bb', 'a\u001b[2Jb', 'a\u007fb', 'a\u202eb', 'a\u2066b', 'a\u200fb'],
      headers: [
        [],
        'X-A: 1',
        5,
        Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v'])),
        { '': 'x' },
        { 'Bad Name': 'x' },
        { 'X-A\r\nInjected': 'x' },
        { 'X-A\n': 'x' },
        { 'X-A:': 'x' },
        { 'X-Ä': 'x' },
        { ['X'.repeat(257)]: 'x' },
        { 'X-A': 'v\r\nInjected: 1' },
        { 'X-A': 'v\nx' },
        { 'X-A': 'v\rx' },
        { 'X-A': 'v\u0000' },
        { 'X-A': 'v\u007f' },
        { 'X-A': 'é' },
        { 'X-A': 'x'.repeat(1001) },
        { 'X-A': 5 },
        { 'X-A': null },
        { 'X-A': { nested: 'x' } },
        { 'X-A': ['x'] },
        { 'X-A': '1', 'x-a': '2' },
        ...['Host', 'CONTENT-TYPE', 'content-length', 'Transfer-Encoding', 'connection', 'User-Agent', 'Webhook-Id', 'WEBHOOK-TIMESTAMP', 'webhook-signature', 'x-webhook-event'].map((h) => ({ [h]: 'x' })),
      ],
      enabled: ['true', 1, 0, null, 'yes', []],
    };
    for (const [field, values] of Object.entries(fieldCases)) {
      for (const value of values) {
        add(`create ${field}=${JSON.stringify(value)?.slice(0, 60)}`, create({ ...VALID, [field]: value }), 400);
        add(`patch ${field}=${JSON.stringify(value)?.slice(0, 60)}`, patch({ [field]: value }), 400);
      }
    }
    // The rate limit: a whole number of deliveries per second, 1-1000 (null removes it on PATCH: see the next test).
    for (const rateLimit of [0, -1, 1.5, 1001, '10', '', 1e20, -0.5, true, [], {}, [5], { perSecond: 5 }]) {
      add(`create rateLimit=${JSON.stringify(rateLimit)}`, create({ ...VALID, rateLimit }), 400);
      add(`patch rateLimit=${JSON.stringify(rateLimit)}`, patch({ rateLimit }), 400);
    }
    add('create rateLimit=null', create({ ...VALID, rateLimit: null }), 400);
    // The payload filter: an EventBridge event pattern; every malformed part, wrong types, limits and hostile shapes are a 400.
    const deepFilter = (depth: number): unknown => (depth === 0 ? ['x'] : { a: deepFilter(depth - 1) });
    for (const filter of [
      ...wrongTypes.filter((v) => v !== null),
      '{"params":{}}',
      { a: 1 },
      { a: 'x' },
      { a: [] },
      { a: [[]] },
      { a: [{}] },
      { a: [{ prefix: 1 }] },
      { a: [{ prefix: 'x', suffix: 'y' }] },
      { a: [{ unknown: 'x' }] },
      { a: [{ exactly: 'x' }] },
      { a: [{ wildcard: 'a**b' }] },
      { a: [{ wildcard: 'a\\' }] },
      { a: [{ wildcard: 'x\\y' }] },
      { a: [{ numeric: [] }] },
      { a: [{ numeric: ['>', '5'] }] },
      { a: [{ numeric: ['<', 1, '>', 0] }] },
      { a: [{ numeric: ['>', 5, '<', 5] }] },
      { a: [{ numeric: ['=', 1, '<', 5] }] },
      { a: [{ exists: 'true' }] },
      { a: [{ cidr: '10.0.0.0' }] },
      { a: [{ cidr: '10.0.0.0/32' }] },
      { a: [{ cidr: '::/128' }] },
      { a: [{ cidr: '1:2:3:4:5:6:7:8:9/64' }] },
      { a: [{ 'anything-but': [] }] },
      { a: [{ 'anything-but': null }] },
      { a: [{ 'anything-but': true }] },
      { a: [{ 'anything-but': ['x', 1] }] },
      { a: [{ 'anything-but': { prefix: '' } }] },
      { a: [{ 'anything-but': { contains: 'x' } }] },
      { a: [{ 'anything-but': { wildcard: ['a**'] } }] },
      { $or: [] },
      { $or: [{ a: ['x'] }] },
      { $or: [{ a: ['x'] }, {}] },
      { $or: { a: ['x'] } },
      { __proto__x: 1 },
      deepFilter(11),
      { a: ['x'.repeat(5000)] },
      { a: Array.from({ length: 101 }, (_, i) => `v${i}`) },
      { a: Array.from({ length: 11 }, (_, i) => ({ wildcard: `*${i}*` })) },
    ]) {
      add(`create filter=${JSON.stringify(filter)?.slice(0, 60)}`, create({ ...VALID, filter }), 400);
      add(`patch filter=${JSON.stringify(filter)?.slice(0, 60)}`, patch({ filter }), 400);
    }
    add('create filter=null', create({ ...VALID, filter: null }), 400);
    // Numbers JSON.parse turns into Infinity: never a value or a bound.
    for (const raw of ['{"a":[1e309]}', '{"a":[{"numeric":[">",-1e309]}]}', '{"a":[{"anything-but":1e309}]}']) {
      add(`create filter=${raw} (raw)`, create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"filter":${raw}}`), 400);
      add(`patch filter=${raw} (raw)`, patch(`{"filter":${raw}}`), 400);
    }
    // Numbers JSON.parse turns into Infinity, -Infinity, 0 or a non-integer: never a limit.
    for (const number of ['1e309', '-1e309', '1e-400', '10.000000000000002', '1E3000']) {
      add(`create rateLimit=${number} (raw)`, create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"rateLimit":${number}}`), 400);
      add(`patch rateLimit=${number} (raw)`, patch(`{"rateLimit":${number}}`), 400);
    }
    for (const field of ['name', 'url', 'eventTypes']) {
      const body: Record<string, unknown> = { ...VALID };
      delete body[field];
      add(`create without ${field}`, create(body), 400);
    }
    // Fields nobody may set (mass assignment), unknown fields, bodies that are not objects.
    for (const extra of [{ id: 'wh_mine' }, { accountId: 'acc_other' }, { secret: 'whsec_plJ3nmyCDGBKInavdOK15jsl' }, { status: 'active' }, { createdAt: '2020-01-01T00:00:00Z' }, { typo: 1 }, { __proto__x: 1 }]) {
      add(`create with ${JSON.stringify(extra)}`, create({ ...VALID, ...extra }), 400);
      add(`patch with ${JSON.stringify(extra)}`, patch(extra), 400);
    }
    add('create with __proto__', create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"__proto__":{"admin":true}}`), 400);
    for (const body of ['[]', '"string"', '1', 'null', 'true', '[{"name":"ok"}]']) {
      add(`create body ${body}`, create(body), 400);
      add(`patch body ${body}`, patch(body), 400);
    }
    // Malformed JSON and bodies that are not UTF-8.
    const validText = JSON.stringify(VALID);
    for (const body of ['{', '{"name":}', "{'name':'ok'}", `${validText},`, `${validText}}`, '{"name":"ok",}', '{"a":NaN}', '\ufeff' + validText, validText.replace('"ok"', '"o\\x41"'), ' ']) {
      add(`create malformed ${JSON.stringify(body).slice(0, 40)}`, create(body), 400);
    }
    const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
    const invalidUtf8: Array<[string, Buffer]> = [
      ['lone 0xff 0xfe in a string', bytes('{"name":"', [0xff, 0xfe], `","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`)],
      ['overlong "/" (0xc0 0xaf)', bytes('{"name":"a', [0xc0, 0xaf], `","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`)],
      ['UTF-8-encoded surrogate (0xed 0xa0 0x80)', bytes('{"name":"', [0xed, 0xa0, 0x80], `","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`)],
      ['truncated multibyte sequence', bytes('{"name":"', [0xe2, 0x82], `","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`)],
      ['continuation byte alone', bytes('{"name":"', [0x80], `","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`)],
      ['UTF-16LE body', Buffer.from(validText, 'utf16le')],
      ['latin1 description', bytes(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"description":"caf`, [0xe9], '"}')],
      ['invalid bytes in a header value', bytes(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"headers":{"X-A":"`, [0xff], '"}}')],
    ];
    for (const [name, body] of invalidUtf8) {
      add(`create invalid UTF-8: ${name}`, json(keyA, 'POST', '/v1/webhooks', body), 400);
      add(`patch invalid UTF-8: ${name}`, json(keyB, 'PATCH', `/v1/webhooks/${patchId}`, body), 400);
    }
    // Size and depth.
    add('create 70 KB body', create({ ...VALID, description: 'x'.repeat(70 * 1024) }), 413);
    add('create 2 MB body', create({ ...VALID, description: 'x'.repeat(2 * 1024 * 1024) }), 413);
    add('create 10 000-level array as the body', create(nest(10_000)), 400);
    add('create 10 000-level object as the body', create(nestObject(10_000)), 400);
    add('create 10 000-level array as the name', create(`{"name":${nest(10_000, '"x"')},"url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"]}`), 400);
    add('create 10 000-level object in headers', create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"headers":{"X-A":${nestObject(10_000)}}}`), 400);
    add('create 10 000-level array in an unknown field', create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"x":${nest(10_000)}}`), 400);
    add('create 100 000-level array (over the size limit)', create(nest(100_000)), 413);
    // Media types and missing bodies.
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx']) {
      add(`create as ${contentType}`, json(keyA, 'POST', '/v1/webhooks', validText, contentType), 415);
    }
    add('create without a content type', () => httpCall(stack.port, 'POST', '/v1/webhooks', { authorization: `Bearer ${keyA}` }, validText), 415);
    add('create without a body', () => httpCall(stack.port, 'POST', '/v1/webhooks', { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' }), 400);
    // The other request bodies.
    for (const body of [{}, { eventType: 'FOO' }, { eventType: 1 }, { eventType: 'NEW_VISIT', extra: 1 }, []]) {
      add(`test ${JSON.stringify(body)}`, json(keyB, 'POST', `/v1/webhooks/${patchId}/test`, JSON.stringify(body)), 400);
    }
    for (const since of ['yesterday', '2026-13-01T00:00:00Z', '2026-01-01', '2026-01-01T25:00:00Z', '', 12345, null, '2026-01-01T00:00:00+99:99', '+275760-09-13T00:00:01Z']) {
      add(`recover since=${JSON.stringify(since)}`, json(keyB, 'POST', `/v1/webhooks/${patchId}/recover`, JSON.stringify({ since })), 400);
    }
    // Query parameters and cursors.
    for (const q of ['limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'limit=', 'limit=1e400', 'cursor=', 'cursor=garbage', `cursor=${'x'.repeat(3000)}`, `cursor=${cursor({ webhookId: 5 })}`, `cursor=${cursor('[1]')}`, `cursor=${cursor({ webhookId: '€'.repeat(500) })}`, `cursor=${cursor('{"webhookId":"wh_\\ud800"}')}`, 'cursor=%ff']) {
      add(`list ?${q.slice(0, 60)}`, get(`/v1/webhooks?${q}`), 400);
    }
    for (const q of ['status=bogus', 'status=', 'limit=1000', `cursor=${cursor({ deliveryId: '€'.repeat(500) })}`, `cursor=${cursor('{"deliveryId":"msg_\\udfff"}')}`, `cursor=${cursor({ deliveryId: 'x'.repeat(513) })}`]) {
      add(`deliveries ?${q.slice(0, 60)}`, get(`/v1/webhooks/${patchId}/deliveries?${q}`, { authorization: `Bearer ${keyB}` }), 400);
    }
    for (const q of ['window=30d', 'window=', 'window=24H', 'window=1h', `window=${'7d'.repeat(2000)}`]) {
      add(`stats ?${q.slice(0, 60)}`, get(`/v1/webhooks/${patchId}/stats?${q}`, { authorization: `Bearer ${keyB}` }), 400);
    }
    // Paths that name nothing (or something of another account).
    for (const path of ['/v1/webhooks/%zz', '/v1/webhooks/..%2F..%2Fetc%2Fpasswd', `/v1/webhooks/wh_${'a'.repeat(300)}`, '/v1/webhooks/wh_%00', '/v1/webhooks/%F0%9F%98%80', `/v1/webhooks/${patchId}`, '/v1/webhooks/%23webhook-count', '/v1/nope', '/v1/webhooks/wh_x/nope', '/v1/webhooks/wh_x/deliveries/msg_bad', '/v1/webhooks/wh_x/stats', `/v1/webhooks/${patchId}/stats`]) {
      add(`GET ${path.slice(0, 60)}`, get(path), 404);
    }
    add('retry a malformed delivery id', json(keyB, 'POST', `/v1/webhooks/${patchId}/deliveries/msg_%ff/retry`, ''), 404);
    add('GET on rotate (405)', get(`/v1/webhooks/${patchId}/secret/rotate`), 405);
    add('PUT on webhooks (405)', json(keyA, 'PUT', '/v1/webhooks', validText), 405);
    add('TRACE (405)', () => httpCall(stack.port, 'TRACE', '/v1/webhooks', { authorization: `Bearer ${keyA}` }), 405);
    // Credentials.
    const someKey = `vwk_${'A'.repeat(43)}`;
    for (const authorization of ['', 'Bearer', 'Bearer ', `Bearer ${'a'.repeat(8000)}`, `Basic ${Buffer.from('u:p').toString('base64')}`, someKey, `Bearer ${someKey}`, `Bearer ${keyA}x`, `Bearer ${keyA} ${keyA}`, `Bearer\t${keyA}`, `Token ${keyA}`]) {
      add(`Authorization: ${JSON.stringify(authorization.slice(0, 40))}`, get('/v1/webhooks', authorization ? { authorization } : {}), 401);
    }
    // More than one Authorization header, in any spelling: never reaches the authorizer or the handler.
    for (const [label, lines] of [
      ['two spellings, two keys', [`authorization: Bearer ${keyB}`, `Authorization: Bearer ${keyA}`]],
      ['one spelling twice, two keys', [`Authorization: Bearer ${keyA}`, `Authorization: Bearer ${keyB}`]],
      ['the same key twice', [`AUTHORIZATION: Bearer ${keyA}`, `authorization: Bearer ${keyA}`]],
      ['a key and an empty one', [`Authorization: Bearer ${keyA}`, 'authorization: ']],
    ] as const) {
      add(`two Authorization headers: ${label}`, raw(['GET /v1/webhooks HTTP/1.1', 'Host: x', ...lines, 'Connection: close', '', ''].join('\r\n')), 401);
    }
    add('Authorization with non-ASCII bytes', raw(bytes(`GET /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer vwk_`, [0xc3, 0xa9, 0xff], '\r\nConnection: close\r\n\r\n')), 401);
    // Malformed HTTP: header injection, smuggling shapes, oversized heads.
    const head = (lines: string[], body = '') => raw(`${lines.join('\r\n')}\r\n\r\n${body}`);
    const auth = `Authorization: Bearer ${keyA}`;
    add('bare CR in a header value', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Test: a\rInjected: b', 'Connection: close']), 400);
    add('bare LF in a header value', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Test: a\nInjected b', 'Connection: close']), 400);
    add('CR in a header name', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Te\rst: a', 'Connection: close']), 400);
    add('LF in a header name', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Te\nst: a', 'Connection: close']), 400);
    add('space before the colon', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Test : a', 'Connection: close']), 400);
    add('NUL in a header value', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Test: a\u0000b', 'Connection: close']), 400);
    add('a space in the request target', head(['GET /v1/web hooks HTTP/1.1', 'Host: x', auth, 'Connection: close']), 400);
    add('CR injected into the request target', head(['GET /v1/webhooks\rX-Injected: 1 HTTP/1.1', 'Host: x', auth, 'Connection: close']), 400);
    add('a control character in the request target', head(['GET /v1/webhooks\u0001 HTTP/1.1', 'Host: x', auth, 'Connection: close']), 400);
    add('no such path outside the API', get('/nope'), 404);
    add('unknown method', head(['FOO /v1/webhooks HTTP/1.1', 'Host: x', auth, 'Connection: close']), 400);
    add('Content-Length and Transfer-Encoding', head(['POST /v1/webhooks HTTP/1.1', 'Host: x', auth, 'Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked', 'Connection: close'], '0\r\n\r\n'), 400);
    add('two different Content-Lengths', head(['POST /v1/webhooks HTTP/1.1', 'Host: x', auth, 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3', 'Connection: close'], '{}'), 400);
    add('non-numeric Content-Length', head(['POST /v1/webhooks HTTP/1.1', 'Host: x', auth, 'Content-Type: application/json', 'Content-Length: abc', 'Connection: close'], '{}'), 400);
    add('obs-fold header continuation', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, 'X-Test: a', ' folded: b', 'Connection: close']));
    add('a 20 KB header', head(['GET /v1/webhooks HTTP/1.1', 'Host: x', auth, `X-Big: ${'a'.repeat(20 * 1024)}`, 'Connection: close']), 431);
    add('a 20 KB URL', head([`GET /v1/webhooks?cursor=${'a'.repeat(20 * 1024)} HTTP/1.1`, 'Host: x', auth, 'Connection: close']), 431);
    add('a raw header-injected custom header through JSON', create(`{"name":"ok","url":"${PUBLIC_URL}","eventTypes":["NEW_VISIT"],"headers":{"X-A":"v\\r\\nHost: evil"}}`), 400);

    const results: Array<{ name: string; status: number; problem?: string }> = [];
    for (const c of cases) {
      let res: RawResponse;
      try {
        res = await c.send();
      } catch (err) {
        results.push({ name: c.name, status: 0, problem: `no HTTP response: ${(err as Error).message}` });
        continue;
      }
      const problem = errorShapeProblem(res) ?? (c.status !== undefined && res.status !== c.status ? `expected ${c.status}, got ${res.status}: ${res.body.slice(0, 200)}` : undefined);
      results.push({ name: c.name, status: res.status, ...(problem ? { problem } : {}) });
    }
    const serverErrors = results.filter((r) => r.status >= 500);
    const byStatus = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    console.log(
      [
        'hostile API input (local runtime HTTP server, production target rules)',
        `  inputs tried  ${results.length}`,
        `  5xx seen      ${serverErrors.length}`,
        `  by status     ${Object.entries(byStatus).map(([s, n]) => `${s}: ${n}`).join(', ')}`,
      ].join('\n'),
    );
    expect(results.filter((r) => r.problem).map((r) => `${r.name}: ${r.problem}`)).toEqual([]);
    expect(serverErrors).toEqual([]);
    expect(results.length).toBeGreaterThan(300);

    // Nothing was stored: the corpus account has no webhook, the patched one is unchanged.
    const list = await httpCall(stack.port, 'GET', '/v1/webhooks?limit=100', { authorization: `Bearer ${keyA}` });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body)).toEqual({ items: [], nextCursor: null });
    expect((await httpCall(stack.port, 'GET', `/v1/webhooks/${patchId}`, { authorization: `Bearer ${keyB}` })).body).toBe(patchBefore);
    expect(await stack.runtime.webhooks.listByAccount('acc_corpus')).toEqual([]);
    // and the server logged no unexpected error while refusing all of it
    expect(serverLines.slice(firstLine).filter((l) => /unexpected error|request failed/.test(l))).toEqual([]);
  });

  it('reads the Authorization header in any letter case, and two of them never poison the authorizer cache', async () => {
    const { key: keyA, id: idA } = await ownWebhook('acc_authz_a');
    const { key: keyB, id: idB } = await ownWebhook('acc_authz_b');
    const listWith = async (lines: string[]) => {
      const res = await rawCall(stack.port, ['GET /v1/webhooks HTTP/1.1', 'Host: x', ...lines, 'Connection: close', '', ''].join('\r\n'));
      return { status: res.status, ids: res.status === 200 ? (JSON.parse(res.body) as { items: Array<{ id: string }> }).items.map((w) => w.id) : [] };
    };
    for (const name of ['Authorization', 'authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
      expect({ name, ...(await listWith([`${name}: Bearer ${keyA}`])) }).toEqual({ name, status: 200, ids: [idA] });
    }
    // B's key first in one spelling, A's in another: refused, not answered with either's data ...
    expect(await listWith([`authorization: Bearer ${keyB}`, `Authorization: Bearer ${keyA}`])).toEqual({ status: 401, ids: [] });
    expect(await listWith([`Authorization: Bearer ${keyA}`, `AUTHORIZATION: Bearer ${keyB}`])).toEqual({ status: 401, ids: [] });
    // ... and each key still answers with its own account's data (no cache entry was poisoned).
    expect(await listWith([`Authorization: Bearer ${keyA}`])).toEqual({ status: 200, ids: [idA] });
    expect(await listWith([`authorization: Bearer ${keyB}`])).toEqual({ status: 200, ids: [idB] });
    expect(await listWith([`AUTHORIZATION: Bearer ${keyB}`])).toEqual({ status: 200, ids: [idB] });
  });

  it('edge cases that are valid are never a 5xx either (found by schemathesis)', async () => {
    const { key: keyB, id: patchId } = await ownWebhook('acc_corpus_edge');
    const auth = { authorization: `Bearer ${keyB}`, 'content-type': 'application/json' };
    // An empty PATCH changes nothing but updatedAt (DynamoDB refuses an update with an empty names map).
    const before = JSON.parse((await httpCall(stack.port, 'GET', `/v1/webhooks/${patchId}`, auth)).body) as Record<string, unknown>;
    const empty = await httpCall(stack.port, 'PATCH', `/v1/webhooks/${patchId}`, auth, '{}');
    expect({ status: empty.status, body: empty.body.slice(0, 200) }).toMatchObject({ status: 200 });
    const after = JSON.parse(empty.body) as Record<string, unknown>;
    expect({ ...after, updatedAt: '' }).toEqual({ ...before, updatedAt: '' });
    // Rate-limit edges: null removes a limit (also when there is none), 1.0 is the integer 1, 1000 the maximum.
    for (const [body, expected] of [
      ['{"rateLimit":null}', undefined],
      ['{"rateLimit":1.0}', 1],
      ['{"rateLimit":1000}', 1000],
      ['{"rateLimit":1e3}', 1000],
      ['{"rateLimit":null}', undefined],
    ] as const) {
      const res = await httpCall(stack.port, 'PATCH', `/v1/webhooks/${patchId}`, auth, body);
      expect({ body, status: res.status }).toEqual({ body, status: 200 });
      expect((JSON.parse(res.body) as { rateLimit?: number }).rateLimit).toBe(expected);
    }
    // Filter edges that are valid: keys DynamoDB or JavaScript treat specially, numbers at the edges of a double, empty strings, $or as deep as allowed.
    for (const raw of [
      '{"__proto__":["x"]}',
      '{"constructor":{"prototype":[{"exists":true}]}}',
      '{"":[""]}',
      '{"a":[1e308,-1e308,5e-324,0]}',
      '{"a":[{"numeric":[">=",-1.7976931348623157e308,"<=",1.7976931348623157e308]}]}',
      '{"a":[null,true,false,"€\\u0000"]}',
      '{"a":[{"wildcard":""},{"prefix":""},{"suffix":""},{"equals-ignore-case":""}]}',
      '{"a":[{"cidr":"::/0"},{"cidr":"0.0.0.0/0"}]}',
      '{"$or":[{"a":["x"]},{"$or":[{"b":["y"]},{"c":["z"]}]}]}',
    ]) {
      const res = await httpCall(stack.port, 'PATCH', `/v1/webhooks/${patchId}`, auth, `{"filter":${raw}}`);
      expect({ raw, status: res.status }).toEqual({ raw, status: 200 });
      expect((JSON.parse(res.body) as { filter?: unknown }).filter).toEqual(JSON.parse(raw));
      const read = await httpCall(stack.port, 'GET', `/v1/webhooks/${patchId}`, auth);
      expect((JSON.parse(read.body) as { filter?: unknown }).filter).toEqual(JSON.parse(raw));
    }
    expect(JSON.parse((await httpCall(stack.port, 'PATCH', `/v1/webhooks/${patchId}`, auth, '{"filter":null}')).body)).not.toHaveProperty('filter');
    const limited = await httpCall(stack.port, 'POST', '/v1/webhooks', auth, JSON.stringify({ ...VALID, rateLimit: 1 }));
    expect({ status: limited.status, rateLimit: (JSON.parse(limited.body) as { rateLimit?: number }).rateLimit }).toEqual({ status: 201, rateLimit: 1 });
    // Every cursor the OpenAPI document allows fits in a request head (schemathesis sent 2048
    // multi-byte characters, 24 KB percent-encoded, and got a 431 no operation documents).
    const doc = JSON.parse((await httpCall(stack.port, 'GET', '/v1/openapi.json', {})).body) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; schema: { pattern?: string; maxLength?: number } }> }>>;
    };
    for (const path of ['/v1/webhooks', '/v1/webhooks/{id}/deliveries']) {
      const schema = doc.paths[path]?.get?.parameters?.find((p) => p.name === 'cursor')?.schema;
      expect(schema).toMatchObject({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 1024 });
    }
    const longest = await httpCall(stack.port, 'GET', `/v1/webhooks?cursor=${'A'.repeat(1024)}`, auth);
    expect(longest.status).toBe(400);
    expect(errorShapeProblem(longest)).toBeUndefined();
    // A cursor that is schema-valid but was never issued is a 400, never a DynamoDB key error.
    for (const value of ['€'.repeat(300), 'x'.repeat(600), '\u0000']) {
      const forged = Buffer.from(JSON.stringify({ webhookId: value })).toString('base64url');
      const res = await httpCall(stack.port, 'GET', `/v1/webhooks?cursor=${forged}`, auth);
      expect(errorShapeProblem(res)).toBeUndefined();
    }
  });
});
