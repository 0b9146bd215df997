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

/**
 * The sample body of each event type: both events carry a visit (a NEW_VISITOR event's visit is
 * the one that created the visitor), so both samples are the guide's visit.
 */
export const SAMPLE_PAYLOADS: Readonly<Record<EventType, SampleVisit>> = {
  NEW_VISIT: SAMPLE_VISIT,
  NEW_VISITOR: SAMPLE_VISIT,
};
