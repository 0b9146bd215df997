import { portalSessionFromFragment } from '../../dashboard/src/portal-session';
import { EVENT_TYPES, HOP_BY_HOP_HEADERS, isVisitEventType, LIMITS, SERVICE_HEADERS } from '../../lambdas/shared/contract';
import {
  EMPTY_FORM,
  formFromWebhook,
  headerRow,
  mapApiIssues,
  orderedErrorFields,
  previewFilter,
  reconcileErrors,
  toWebhookInput,
  validateFilter,
  DESCRIPTION_CHARS_PATTERN,
  NAME_CHARS_PATTERN,
  validateDescription,
  validateHeaderName,
  validateHeaderValue,
  validateName,
  validateRateLimit,
  validateUrl,
  validateWebhookForm,
  type WebhookFormValues,
} from '../../dashboard/src/validation';
import type { Webhook } from '../../dashboard/src/types';
import * as schemas from '../../lambdas/shared/domain/webhook-schemas';

const { rateLimitSchema } = schemas;

const valid = (overrides: Partial<WebhookFormValues> = {}): WebhookFormValues => ({
  ...EMPTY_FORM,
  name: 'Notify My CRM',
  url: 'https://crm.example.com/hooks',
  eventTypes: ['NEW_VISIT'],
  ...overrides,
});

describe('dashboard form validation (mirrors the API)', () => {
  it('accepts the customer guide example', () => {
    const values = valid({ description: 'Triggers Slack notifications', headers: [headerRow('X-Webhook-Signature', 'my-shared-token'), headerRow('X-Api-Version', '2')] });
    expect(validateWebhookForm(values)).toEqual({});
  });

  it('reports every missing required field by name', () => {
    expect(validateWebhookForm(EMPTY_FORM)).toEqual({
      name: expect.stringMatching(/name/i),
      url: expect.stringMatching(/URL/),
      eventTypes: expect.stringMatching(/at least one/i),
    });
  });

  describe('name', () => {
    it.each([
      ['', /Enter a name/],
      ['   ', /blank/],
      ['x'.repeat(LIMITS.nameMaxLength + 1), /at most 100/],
    ])('refuses %j', (name, message) => {
      expect(validateName(name)).toMatch(message);
    });
    it('accepts 1 and 100 characters', () => {
      expect(validateName('x')).toBeUndefined();
      expect(validateName('x'.repeat(LIMITS.nameMaxLength))).toBeUndefined();
    });
  });

  describe('url', () => {
    it.each([
      ['https://example.com/hook'],
      ['http://127.0.0.1:4000/webhook'],
      ['https://example.com:8443/a/b?c=d#e'],
      [`https://example.com/${'a'.repeat(LIMITS.urlMaxLength - 'https://example.com/'.length)}`],
    ])('accepts %s', (url) => {
      expect(validateUrl(url)).toBeUndefined();
    });

    it.each([
      ['', /Enter the URL/],
      ['example.com/hook', /absolute URL/],
      ['/relative/path', /absolute URL/],
      ['ftp://example.com/hook', /https:\/\//],
      ['javascript:alert(1)', /https:\/\//],
      ['https://user:pass@example.com/hook', /credentials/],
      ['https://user@example.com/hook', /credentials/],
      ['https://@example.com/hook', /credentials/],
      ['https://exa mple.com/hook', /spaces or control/],
      ['https://example.com/\nhook', /spaces or control/],
      [`https://example.com/${'a'.repeat(LIMITS.urlMaxLength)}`, /at most 2048/],
    ])('refuses %j', (url, message) => {
      expect(validateUrl(url)).toMatch(message);
    });
  });

  it('needs at least one known event type', () => {
    expect(validateWebhookForm(valid({ eventTypes: [] })).eventTypes).toMatch(/at least one/);
    for (const type of EVENT_TYPES) expect(validateWebhookForm(valid({ eventTypes: [type] })).eventTypes).toBeUndefined();
  });

  it('limits the description to 500 characters', () => {
    expect(validateDescription('d'.repeat(LIMITS.descriptionMaxLength))).toBeUndefined();
    expect(validateDescription('d'.repeat(LIMITS.descriptionMaxLength + 1))).toMatch(/at most 500/);
  });

  describe('rate limit (deliveries per second)', () => {
    it.each([[''], ['   '], ['1'], ['10'], [' 250 '], ['1000'], ['+5'], ['007']])('accepts %j', (value) => {
      expect(validateRateLimit(value)).toBeUndefined();
    });

    it.each([
      ['0', /from 1 to 1000/],
      ['-1', /from 1 to 1000/],
      ['1001', /from 1 to 1000/],
      ['0.5', /from 1 to 1000/],
      ['99999999999999999999', /from 1 to 1000/],
      ['1.5', /whole number/],
      ['10.0001', /whole number/],
      ['ten', /number of deliveries per second/],
      ['1e3', /number of deliveries per second/],
      ['0x10', /number of deliveries per second/],
      ['1,000', /number of deliveries per second/],
      ['Infinity', /number of deliveries per second/],
      ['NaN', /number of deliveries per second/],
      ['.', /number of deliveries per second/],
      ['5 6', /number of deliveries per second/],
    ])('refuses %j', (value, message) => {
      expect(validateRateLimit(value)).toMatch(message);
    });

    it('agrees with the API schema on every number it accepts or refuses', () => {
      for (const text of ['-1', '0', '0.5', '0.999', '1', '1.5', '2', '10', '999', '999.9', '1000', '1000.5', '1001', '65536']) {
        expect({ text, accepted: validateRateLimit(text) === undefined }).toEqual({ text, accepted: rateLimitSchema.safeParse(Number(text)).success });
      }
    });

    it('is reported on its own field, between the description and the headers', () => {
      const errors = validateWebhookForm(valid({ rateLimit: '0', headers: [headerRow('Host', 'x')] }));
      expect(errors).toEqual({ rateLimit: expect.stringMatching(/from 1 to 1000/), 'headers[0].name': expect.any(String) });
      expect(orderedErrorFields({ ...errors, description: 'x', headers: 'x' })).toEqual(['description', 'rateLimit', 'headers', 'headers[0].name']);
    });
  });

  describe('headers', () => {
    it('accepts RFC 7230 tokens and refuses other names', () => {
      for (const name of ['X-Api-Version', 'Authorization', "x!#$%&'*+.^_`|~-1"]) expect(validateHeaderName(name)).toBeUndefined();
      for (const name of ['X Api', 'X-Api:', 'Ä-Header', 'X(1)', 'X/Y', '']) expect(validateHeaderName(name)).toBeDefined();
    });

    it('refuses every reserved name from the contract, in any letter case', () => {
      for (const hop of HOP_BY_HOP_HEADERS) {
        expect(validateHeaderName(hop)).toMatch(/hop-by-hop header: it is never sent/);
        expect(validateHeaderName(hop.toUpperCase())).toMatch(/hop-by-hop/);
      }
      for (const reserved of SERVICE_HEADERS) {
        expect(validateHeaderName(reserved)).toMatch(/cannot be overridden/);
        expect(validateHeaderName(reserved.toUpperCase())).toMatch(/cannot be overridden/);
      }
      // The customer guide's shared-secret header is allowed on purpose.
      expect(validateHeaderName('X-Webhook-Signature')).toBeUndefined();
    });

    it('refuses CR/LF and non-printable values and values over 1000 characters', () => {
      expect(validateHeaderValue('Bearer abc\tdef')).toBeUndefined();
      expect(validateHeaderValue('')).toBeUndefined();
      expect(validateHeaderValue('a\r\nX-Injected: 1')).toMatch(/line breaks/);
      expect(validateHeaderValue('a\nb')).toMatch(/line breaks/);
      expect(validateHeaderValue('caf\u00e9')).toMatch(/printable ASCII/);
      expect(validateHeaderValue('\u0000')).toMatch(/printable ASCII/);
      expect(validateHeaderValue('v'.repeat(LIMITS.headerValueMaxLength))).toBeUndefined();
      expect(validateHeaderValue('v'.repeat(LIMITS.headerValueMaxLength + 1))).toMatch(/at most 1000/);
    });

    it('reports errors on the row and field they belong to', () => {
      const errors = validateWebhookForm(valid({ headers: [headerRow('X-Ok', '1'), headerRow('Host', 'evil'), headerRow('', 'value without name'), headerRow('X-Bad', 'a\nb')] }));
      expect(Object.keys(errors).sort()).toEqual(['headers[1].name', 'headers[2].name', 'headers[3].value']);
    });

    it('finds case-insensitive duplicates', () => {
      const errors = validateWebhookForm(valid({ headers: [headerRow('X-Token', 'a'), headerRow('x-token', 'b')] }));
      expect(errors).toEqual({ 'headers[1].name': expect.stringMatching(/Duplicate of header 1/) });
    });

    it('allows 20 headers, refuses 21, and ignores blank rows', () => {
      const rows = (n: number) => Array.from({ length: n }, (_, i) => headerRow(`X-H${i}`, 'v'));
      expect(validateWebhookForm(valid({ headers: [...rows(LIMITS.headersMaxCount), headerRow(), headerRow()] }))).toEqual({});
      expect(validateWebhookForm(valid({ headers: rows(LIMITS.headersMaxCount + 1) })).headers).toMatch(/at most 20/);
    });
  });
});

describe('form values ↔ API', () => {
  const webhook: Webhook = {
    id: 'wh_1',
    name: 'CRM',
    url: 'https://crm.example.com/hooks',
    eventTypes: ['NEW_VISITOR', 'NEW_VISIT'],
    description: 'd',
    headers: { 'X-Api-Version': '2', Authorization: 'Bearer t' },
    enabled: true,
    status: 'active',
    health: { breaker: 'closed' },
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
  };

  it('round-trips a webhook through the form', () => {
    const values = formFromWebhook(webhook);
    expect(values.eventTypes).toEqual(['NEW_VISIT', 'NEW_VISITOR']);
    expect(new Set(values.headers.map((r) => r.key)).size).toBe(2);
    expect(toWebhookInput(values)).toEqual({
      name: 'CRM',
      url: 'https://crm.example.com/hooks',
      eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
      description: 'd',
      headers: { 'X-Api-Version': '2', Authorization: 'Bearer t' },
    });
  });

  it('sends the rate limit as a number; an empty one is left out on create and removed (null) on edit', () => {
    expect(formFromWebhook(webhook).rateLimit).toBe('');
    const limited = formFromWebhook({ ...webhook, rateLimit: 25 });
    expect(limited.rateLimit).toBe('25');
    expect(toWebhookInput(limited).rateLimit).toBe(25);
    expect(toWebhookInput({ ...limited, rateLimit: ' 40 ' }, true).rateLimit).toBe(40);
    expect(toWebhookInput({ ...limited, rateLimit: '' })).not.toHaveProperty('rateLimit');
    expect(toWebhookInput({ ...limited, rateLimit: '  ' }, true)).toMatchObject({ rateLimit: null });
  });

  it('drops blank header rows from the request', () => {
    expect(toWebhookInput(valid({ headers: [headerRow(), headerRow('X-A', '1'), headerRow('  ', '')] })).headers).toEqual({ 'X-A': '1' });
  });

  it("maps the API's field errors (details[].path) onto the form's fields", () => {
    const values = valid({ headers: [headerRow('X-Ok', '1'), headerRow('host', 'h')] });
    const errors = mapApiIssues(
      [
        { path: 'url', message: 'target is not allowed: loopback address 127.0.0.1' },
        { path: 'eventTypes[1]', message: 'must be one of NEW_VISIT, NEW_VISITOR' },
        { path: 'headers.Host', message: 'header name is reserved' },
        { path: 'headers.X-Gone', message: 'unknown row' },
        { path: 'headers', message: 'at most 20 headers are allowed' },
        { path: 'rateLimit', message: 'rateLimit must be between 1 and 1000 deliveries per second' },
        { path: 'body', message: 'is required' },
        { path: 'extra', message: 'is not a known field' },
      ],
      values,
    );
    expect(errors).toEqual({
      url: 'target is not allowed: loopback address 127.0.0.1',
      eventTypes: 'must be one of NEW_VISIT, NEW_VISITOR',
      'headers[1].name': 'header name is reserved',
      headers: 'X-Gone: unknown row at most 20 headers are allowed',
      rateLimit: 'rateLimit must be between 1 and 1000 deliveries per second',
      form: 'body: is required extra: is not a known field',
    });
  });

  it('orders errors as the form shows its fields', () => {
    expect(orderedErrorFields({ form: 'x', 'headers[1].value': 'x', 'headers[0].name': 'x', headers: 'x', url: 'x', name: 'x', eventTypes: 'x' })).toEqual([
      'name',
      'url',
      'eventTypes',
      'headers',
      'headers[0].name',
      'headers[1].value',
      'form',
    ]);
  });
});

describe('dashboard: control and bidirectional characters in names and descriptions', () => {
  const BIDI = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];
  const CONTROLS = ['\u0000', '\u0007', '\u001B', '\u007F', '\u0085', '\u009F'];

  it('uses the same patterns as the API schema', () => {
    expect(NAME_CHARS_PATTERN.source).toBe(schemas.NAME_CHARS_PATTERN.source);
    expect(DESCRIPTION_CHARS_PATTERN.source).toBe(schemas.DESCRIPTION_CHARS_PATTERN.source);
    expect(NAME_CHARS_PATTERN.flags).toBe('');
  });

  it('refuses control characters and bidirectional controls in a name, as the API does', () => {
    for (const c of [...BIDI, ...CONTROLS, '\t', '\n', '\r']) {
      const name = `invoice${c}gpj.exe`;
      expect(validateName(name)).toMatch(/control characters/);
      expect(schemas.nameSchema.safeParse(name).success).toBe(false);
    }
    expect(validateName('Zahlungseingänge – 日本 ✓')).toBeUndefined();
  });

  it('allows tabs and line breaks in a description, but no other control character or bidirectional control', () => {
    expect(validateDescription('line one\r\nline two\n\tindented')).toBeUndefined();
    expect(schemas.descriptionSchema.safeParse('line one\r\nline two\n\tindented').success).toBe(true);
    for (const c of [...BIDI, ...CONTROLS, '\u000B', '\u000C']) {
      expect(validateDescription(`a${c}b`)).toMatch(/control characters/);
      expect(schemas.descriptionSchema.safeParse(`a${c}b`).success).toBe(false);
    }
  });
});

describe('dashboard: the payload filter field', () => {
  const valid = (filter: string): WebhookFormValues => ({ ...EMPTY_FORM, name: 'n', url: 'https://crm.example.com/hooks', eventTypes: ['NEW_VISIT'], filter });

  it('accepts no filter and any pattern the API accepts, and reports the offending part as the API does', () => {
    expect(validateFilter('')).toBeUndefined();
    expect(validateFilter('  \n ')).toBeUndefined();
    expect(validateFilter('{"params": {"utm_source": ["newsletter"]}}')).toBeUndefined();
    expect(validateFilter('{"params": ')).toMatch(/not valid JSON/);
    expect(validateFilter('["newsletter"]')).toMatch(/^filter: must be an object/);
    expect(validateFilter('{"location": {"country": [{"prefx": "Uni"}]}}')).toBe('filter.location.country[0].prefx: unknown operator "prefx": use one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr');
    // The same pattern through the API's schema: the same path.
    const api = schemas.webhookPatchSchema.safeParse({ filter: { location: { country: [{ prefx: 'Uni' }] } } });
    expect(api.success).toBe(false);
    expect(api.error?.issues[0]?.path).toEqual(['filter', 'location', 'country', 0, 'prefx']);
    expect(validateWebhookForm(valid('{"a": 1}'))).toEqual({ filter: expect.stringMatching(/^filter\.a: must be an array/) });
  });

  it('checks a filter against the sample payload of each event type', () => {
    // A visit filter matches the visits' sample, not the operational events' (their body is another shape).
    expect(previewFilter('{"params": {"utm_source": ["newsletter"]}}')).toEqual({
      ok: true,
      results: EVENT_TYPES.map((eventType) => ({ eventType, matches: isVisitEventType(eventType) })),
    });
    expect(previewFilter('{"location": {"country": [{"anything-but": ["United States"]}]}}', ['NEW_VISIT'])).toEqual({ ok: true, results: [{ eventType: 'NEW_VISIT', matches: false }] });
    // The sample's hardwareConcurrency is the string "6": a numeric pattern does not match it, the string does.
    expect(previewFilter('{"device": {"hardwareConcurrency": [{"numeric": [">=", 4]}]}}', ['NEW_VISIT'])).toMatchObject({ results: [{ matches: false }] });
    expect(previewFilter('{"device": {"hardwareConcurrency": ["6"]}}', ['NEW_VISIT'])).toMatchObject({ results: [{ matches: true }] });
    expect(previewFilter('', ['NEW_VISITOR'])).toEqual({ ok: true, results: [{ eventType: 'NEW_VISITOR', matches: true }] });
    expect(previewFilter('{"a": []}')).toEqual({ ok: false, error: expect.stringMatching(/^filter\.a: must not be an empty array/) });
  });

  it('sends the filter as JSON; an empty one is left out on create and removed (null) on edit; a saved one is shown pretty-printed', () => {
    expect(toWebhookInput(valid(' {"params": {"utm_source": ["newsletter"]}} ')).filter).toEqual({ params: { utm_source: ['newsletter'] } });
    expect(toWebhookInput(valid(''))).not.toHaveProperty('filter');
    expect(toWebhookInput(valid(''), true).filter).toBeNull();
    const webhook = { id: 'wh_1', name: 'n', url: 'https://x.example.com/', eventTypes: ['NEW_VISIT'], description: '', headers: {}, enabled: true, status: 'active', filter: { a: ['x'] } } as unknown as Webhook;
    expect(formFromWebhook(webhook).filter).toBe('{\n  "a": [\n    "x"\n  ]\n}');
  });

  it("puts the API's filter errors on the filter field, keeping the path of the offending part", () => {
    const errors = mapApiIssues([{ path: 'filter.location.country[0]', message: 'unknown operator' }], valid('{}'));
    expect(errors).toEqual({ filter: 'filter.location.country[0]: unknown operator' });
    expect(mapApiIssues([{ path: 'filter', message: 'must be an object' }], valid('{}'))).toEqual({ filter: 'must be an object' });
    expect(orderedErrorFields({ headers: 'x', filter: 'y', rateLimit: 'z', 'headers[0].name': 'w' })).toEqual(['rateLimit', 'filter', 'headers', 'headers[0].name']);
  });
});

describe('errors after an edit (reconcileErrors)', () => {
  const base = { ...EMPTY_FORM, name: '', url: 'ftp://example.com', eventTypes: ['NEW_VISIT' as const] };

  it('drops the error of a field fixed since it was shown, and updates one still wrong', () => {
    const errors = validateWebhookForm(base);
    expect(Object.keys(errors).sort()).toEqual(['name', 'url']);
    const fixedName = reconcileErrors(errors, base, { ...base, name: 'CRM' });
    expect(Object.keys(fixedName)).toEqual(['url']);
    const otherUrl = reconcileErrors(fixedName, base, { ...base, name: 'CRM', url: 'nope' });
    expect(otherUrl.url).toMatch(/absolute URL/);
  });

  it("keeps an error of a field left alone, even one only the API can judge, and the form's", () => {
    const values = { ...base, name: 'CRM', url: 'http://169.254.169.254/' };
    const fromApi = { url: 'the address is not allowed', form: 'limit reached' };
    expect(reconcileErrors(fromApi, values, { ...values, description: 'x' })).toEqual(fromApi);
    expect(reconcileErrors(fromApi, values, { ...values, url: 'https://example.com/' })).toEqual({ form: 'limit reached' });
  });

  it('drops a filter error once the filter is fixed, and keeps it while it is not', () => {
    const values = { ...base, name: 'CRM', url: 'https://example.com/', filter: '{"a": 1}' };
    const errors = validateWebhookForm(values);
    expect(Object.keys(errors)).toEqual(['filter']);
    expect(reconcileErrors(errors, values, { ...values, filter: '{"a": [' }).filter).toMatch(/not valid JSON/);
    expect(reconcileErrors(errors, values, { ...values, filter: '{"a": [1]}' })).toEqual({});
  });
});

describe('portal session fragment', () => {
  const token = `vps_${'a'.repeat(43)}`;
  it('reads the token and the read-only flag, and nothing that is not a session token', () => {
    expect(portalSessionFromFragment(`#portal=${token}`)).toEqual({ token, readOnly: false });
    expect(portalSessionFromFragment(`#portal=${token}&access=read-only`)).toEqual({ token, readOnly: true });
    expect(portalSessionFromFragment('#portal=vwk_abc')).toBeUndefined();
    expect(portalSessionFromFragment('')).toBeUndefined();
  });
});
