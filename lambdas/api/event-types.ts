import { z } from 'zod';
import { EVENT_TYPES } from '../shared/contract';
import { eventCatalog } from '../shared/domain/event-catalog';

/**
 * `GET /v1/event-types`: the event catalog (domain/event-catalog.ts) as the API answers it.
 * The same schemas are the OpenAPI document's `webhooks` section (openapi.ts).
 */

export const eventTypeListSchema = z
  .object({
    items: z.array(
      z.object({
        eventType: z.enum(EVENT_TYPES),
        description: z.string(),
        schema: z.record(z.string(), z.unknown()).meta({
          description: 'JSON Schema (draft 2020-12) of the body of this event type\'s deliveries (the `Visit` schema of this document, standing alone).',
        }),
        example: z.record(z.string(), z.unknown()).meta({ description: 'A sample body: what a test send of this event type delivers.' }),
      }),
    ),
  })
  .meta({ description: 'Every event type a webhook can subscribe to.' });

export function eventTypeListJson(): z.output<typeof eventTypeListSchema> {
  return { items: eventCatalog().map((info) => ({ ...info, example: { ...info.example } })) };
}
