import { DELIVERY_HEADERS, EVENT_TYPES } from '../../../lambdas/shared/contract';
import { SAMPLE_PAYLOADS } from '../../../lambdas/shared/sample-payloads';
import { EVENT_DESCRIPTIONS } from './WebhookForm';

/** What a delivery of each event type looks like: the headers and the sample body the test send uses. */
export function SamplePayloads() {
  return (
    <section class="panel" aria-labelledby="samples-title">
      <h2 id="samples-title">Sample payloads</h2>
      <p>
        Each delivery is a <code>POST</code> with <code>Content-Type: application/json</code>, the visit (or, for the operational types, the event) as the body, and the headers{' '}
        <code>{DELIVERY_HEADERS.id}</code>, <code>{DELIVERY_HEADERS.timestamp}</code>, <code>{DELIVERY_HEADERS.signature}</code>,{' '}
        <code>{DELIVERY_HEADERS.legacySignature}</code>, <code>{DELIVERY_HEADERS.event}</code> and your custom headers.
      </p>
      {EVENT_TYPES.map((type) => (
        <details key={type} class="sample">
          <summary>
            <code>{type}</code> <span class="muted">{EVENT_DESCRIPTIONS[type]}</span>
          </summary>
          <pre tabIndex={0} aria-label={`Sample ${type} payload`}>
            <code>{JSON.stringify(SAMPLE_PAYLOADS[type], null, 2)}</code>
          </pre>
        </details>
      ))}
    </section>
  );
}
