import type { EventType } from './contract';

/** The visit payload of the customer guide's "Expected Payload" (what `/test` sends). */
export interface SampleVisit {
  readonly id: string;
  readonly url: string;
  readonly params: Readonly<Record<string, string>>;
  readonly referrer: string;
  readonly date: string;
  readonly ip: string;
  readonly visitor: {
    readonly id: string;
    readonly firstSeen: string;
    readonly company: { readonly name: string; readonly domain: string };
  };
  readonly location: { readonly country: string; readonly city: string; readonly state: string };
  readonly trafficSource: { readonly channel: string; readonly source: string; readonly campaign: string };
  readonly device: { readonly model: string; readonly os: string; readonly gpu: string; readonly hardwareConcurrency: string };
  readonly browser: { readonly name: string; readonly version: string; readonly vendor: string };
  readonly timezone: string;
  readonly screen: { readonly height: string; readonly width: string; readonly touch: string };
}

/** The customer guide's example, verbatim. */
export const SAMPLE_VISIT: SampleVisit = {
  id: 'unique_visit_id',
  url: 'https://example.com/entry-point',
  params: {
    utm_source: 'newsletter',
    utm_medium: 'email',
    utm_campaign: 'spring_sale',
  },
  referrer: 'https://google.com',
  date: '2024-12-22T14:30:00Z',
  ip: '192.168.1.1',
  visitor: {
    id: 'unique_visitor_id',
    firstSeen: '2023-01-01T12:00:00Z',
    company: {
      name: 'Example Corp',
      domain: 'example.com',
    },
  },
  location: {
    country: 'United States',
    city: 'San Francisco',
    state: 'California',
  },
  trafficSource: {
    channel: 'Organic Search',
    source: 'Google',
    campaign: 'Holiday Campaign',
  },
  device: {
    model: 'iPhone 14',
    os: 'iOS 17',
    gpu: 'Apple GPU',
    hardwareConcurrency: '6',
  },
  browser: {
    name: 'Safari',
    version: '17.0',
    vendor: 'Apple',
  },
  timezone: 'America/Los_Angeles',
  screen: {
    height: '2532',
    width: '1170',
    touch: 'true',
  },
};

/** The body of an operational event (docs/operational-event.schema.json; the schema is lambdas/shared/domain/operational-events.ts). */
export interface SampleOperationalEvent {
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly accountId: string;
  readonly webhookId: string;
  readonly webhookName: string;
  readonly reason: string;
  readonly [field: string]: string | number;
}

const OPERATIONAL_COMMON = {
  time: '2024-12-22T14:30:00.000Z',
  accountId: 'acc_123',
  webhookId: 'wh_01JFKZ8Q3T9XG6Y2N4M7P5R8VW',
  webhookName: 'Notify My CRM',
} as const;

/**
 * The sample body of each event type: both visit events carry a visit (a NEW_VISITOR event's visit
 * is the one that created the visitor), so both samples are the guide's visit; each operational
 * event type has its own.
 */
export const SAMPLE_PAYLOADS: Readonly<Record<EventType, SampleVisit | SampleOperationalEvent>> = {
  NEW_VISIT: SAMPLE_VISIT,
  NEW_VISITOR: SAMPLE_VISIT,
  WEBHOOK_AUTO_DISABLED: {
    id: 'opev_sample_auto_disabled',
    type: 'WEBHOOK_AUTO_DISABLED',
    ...OPERATIONAL_COMMON,
    reason: 'every delivery failed since 2024-12-17T14:30:00.000Z',
  },
  DELIVERY_EXHAUSTED: {
    id: 'opev_sample_delivery_exhausted',
    type: 'DELIVERY_EXHAUSTED',
    ...OPERATIONAL_COMMON,
    reason: 'gave up after 8 attempts: endpoint answered 503',
    deliveryId: 'msg_01JFKZ8Q3TABCDEFGHJKMNPQRS',
    eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    eventType: 'NEW_VISIT',
    attempts: 8,
    lastStatusCode: 503,
  },
  WEBHOOK_BREAKER_OPENED: {
    id: 'opev_sample_breaker_opened',
    type: 'WEBHOOK_BREAKER_OPENED',
    ...OPERATIONAL_COMMON,
    reason: '3 failed attempts in a row, the last: endpoint answered 503',
    nextProbeAt: '2024-12-22T14:30:10.000Z',
  },
  WEBHOOK_BREAKER_CLOSED: {
    id: 'opev_sample_breaker_closed',
    type: 'WEBHOOK_BREAKER_CLOSED',
    ...OPERATIONAL_COMMON,
    reason: 'a probe succeeded: the endpoint is back, deliveries flow and the parked ones are released',
    openedAt: '2024-12-22T14:20:00.000Z',
  },
};
