import { randomUUID } from 'node:crypto';
import type { Webhook } from '../../lambdas/shared/domain/model';
import { generateSecret } from '../../lambdas/shared/domain/signing';

/** A complete, enabled webhook subscribed to every event type; `partial` overrides any field. */
export function webhookFixture(partial: Partial<Webhook> & Pick<Webhook, 'accountId' | 'url'>, now: string = new Date().toISOString()): Webhook {
  return {
    webhookId: `wh_${randomUUID()}`,
    name: 'test hook',
    eventTypes: ['NEW_VISIT', 'NEW_VISITOR'],
    description: '',
    headers: {},
    enabled: true,
    status: 'active',
    createdAt: now,
    updatedAt: now,
    secret: generateSecret(),
    ...partial,
  };
}
