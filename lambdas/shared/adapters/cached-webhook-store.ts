import type { Breaker, Webhook } from '../domain/model';
import { type Clock, isWebhookAdminStore, type Page, type WebhookAdminStore, type WebhookChanges, type WebhookStore } from '../domain/ports';

/**
 * Caches each account's webhook list for a short time per container, so a burst of events
 * for one account costs one DynamoDB Query. Writes through this store drop the account's entry
 * (so this container sees its own breaker or slow-lane change at once; others within the TTL).
 * The management methods and `listBreakers` pass through uncached (the management methods need
 * the wrapped store to support them).
 */
export class CachedWebhookStore implements WebhookAdminStore {
  private readonly cache = new Map<string, { expires: number; webhooks: Promise<Webhook[]> }>();

  constructor(
    private readonly inner: WebhookStore,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly maxAccounts = 10_000,
  ) {}

  listByAccount(accountId: string): Promise<Webhook[]> {
    const now = this.clock.now();
    const hit = this.cache.get(accountId);
    if (hit && hit.expires > now) return hit.webhooks;
    if (this.cache.size >= this.maxAccounts) this.cache.clear();
    const webhooks = this.inner.listByAccount(accountId);
    this.cache.set(accountId, { expires: now + this.ttlMs, webhooks });
    // A failed lookup is not cached.
    webhooks.catch(() => this.cache.delete(accountId));
    return webhooks;
  }

  get(accountId: string, webhookId: string): Promise<Webhook | undefined> {
    return this.inner.get(accountId, webhookId);
  }

  async markFailing(accountId: string, webhookId: string, since: string): Promise<void> {
    await this.inner.markFailing(accountId, webhookId, since);
    this.cache.delete(accountId);
  }

  async clearFailing(accountId: string, webhookId: string): Promise<void> {
    await this.inner.clearFailing(accountId, webhookId);
    this.cache.delete(accountId);
  }

  async autoDisable(accountId: string, webhookId: string, reason: string, at: string): Promise<boolean> {
    const disabled = await this.inner.autoDisable(accountId, webhookId, reason, at);
    this.cache.delete(accountId);
    return disabled;
  }

  async markSlow(accountId: string, webhookId: string, until: string): Promise<void> {
    try {
      await this.inner.markSlow(accountId, webhookId, until);
    } finally {
      this.cache.delete(accountId);
    }
  }

  async setBreaker(accountId: string, webhookId: string, next: Breaker | undefined, expected?: { readonly probeAt: string | null }): Promise<boolean> {
    try {
      return await this.inner.setBreaker(accountId, webhookId, next, expected);
    } finally {
      // Also when the lease was lost: another consumer moved the breaker, so the entry is stale.
      this.cache.delete(accountId);
    }
  }

  listBreakers(query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    return this.inner.listBreakers(query);
  }

  async create(webhook: Webhook, maxPerAccount: number): Promise<void> {
    await this.admin().create(webhook, maxPerAccount);
    this.cache.delete(webhook.accountId);
  }

  listPage(accountId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    return this.admin().listPage(accountId, query);
  }

  async update(accountId: string, webhookId: string, changes: WebhookChanges, expectUpdatedAt?: string): Promise<Webhook | undefined> {
    try {
      return await this.admin().update(accountId, webhookId, changes, expectUpdatedAt);
    } finally {
      this.cache.delete(accountId);
    }
  }

  async delete(accountId: string, webhookId: string): Promise<boolean> {
    try {
      return await this.admin().delete(accountId, webhookId);
    } finally {
      this.cache.delete(accountId);
    }
  }

  private admin(): WebhookAdminStore {
    if (!isWebhookAdminStore(this.inner)) throw new Error('the wrapped webhook store does not support management operations');
    return this.inner;
  }

  invalidate(accountId?: string): void {
    if (accountId) this.cache.delete(accountId);
    else this.cache.clear();
  }
}
