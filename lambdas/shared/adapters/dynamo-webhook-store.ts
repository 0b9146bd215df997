import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, WebhookLimitError } from '../domain/errors';
import type { Breaker, Webhook } from '../domain/model';
import type { Page, WebhookAdminStore, WebhookChanges, SecretCipher } from '../domain/ports';
import { decodeCursor, encodeCursor, isConditionalCheckFailed } from './dynamo-client';

/**
 * Sort key of the per-account counter item that enforces the webhook limit without
 * transactions (dynalite has none). It can never be a webhook id (those start with `wh_`),
 * and every read below skips it, so it never shows up as a webhook.
 */
export const WEBHOOK_COUNTER_ID = '#webhook-count';

/** Every webhook id starts with this (the API mints `wh_…` ids and 404s anything else). */
const WEBHOOK_ID_PREFIX = 'wh_';

/**
 * A counter left too high (a crash between its increment and the webhook write, or between a
 * delete and the decrement) is only repaired after this quiet period, so an in-flight create
 * is never mistaken for drift.
 */
const COUNTER_REPAIR_QUIET_MS = 60_000;

/** Fields a management update may set, and their attribute names. */
const SETTABLE = [
  'name',
  'url',
  'eventTypes',
  'description',
  'headers',
  'enabled',
  'status',
  'secret',
  'previousSecret',
  'previousSecretExpiresAt',
  'rateLimit',
  'filter',
] as const satisfies readonly (keyof WebhookChanges)[];

/** Partition key of the sparse `breakers` index: every webhook whose breaker is set. */
export const BREAKER_SHARD = 'breakers';
/** The GSI listing webhooks with a breaker (PK `breakerShard`, SK `breakerProbeAt`). */
export const BREAKERS_INDEX = 'breakers';
/** Top-level helper attributes that exist only to key the `breakers` index: never part of a `Webhook`. */
const INDEX_ATTRIBUTES = ['breakerShard', 'breakerProbeAt'] as const;

/**
 * Webhooks table: partition `accountId`, sort `webhookId`; one item per webhook, plus one
 * counter item per account (`WEBHOOK_COUNTER_ID`).
 *
 * A webhook whose breaker is set (`breaker`, a map) also carries `breakerShard` (constant
 * `breakers`) and `breakerProbeAt` (the breaker's `probeAt`): the keys of the sparse GSI
 * `breakers`, so the reconciler lists the few webhooks with a breaker, of any account, with one
 * Query and no scan. Closing the breaker REMOVEs all three, which takes the item out of the index.
 */
export class DynamoWebhookStore implements WebhookAdminStore {
  constructor(
    protected readonly doc: DynamoDBDocumentClient,
    protected readonly tableName: string,
    /** Signing secrets are stored encrypted with this (see secret-cipher.ts). */
    private readonly cipher: SecretCipher,
    private readonly now: () => number = Date.now,
  ) {}

  /** A stored item as a webhook, its secrets decrypted. */
  private async fromItem(item: Record<string, unknown>): Promise<Webhook> {
    const { breakerShard: _shard, breakerProbeAt: _probeAt, ...rest } = item;
    const webhook = rest as unknown as Webhook;
    const context = `${webhook.accountId}/${webhook.webhookId}`;
    return {
      ...webhook,
      secret: await this.cipher.decrypt(webhook.secret, context),
      ...(webhook.previousSecret ? { previousSecret: await this.cipher.decrypt(webhook.previousSecret, context) } : {}),
    };
  }

  /** Items whose id starts with `#` are bookkeeping (an account's webhook counter, the deployment's secrets data key), never webhooks. */
  private fromItems(items: readonly Record<string, unknown>[]): Promise<Webhook[]> {
    return Promise.all(items.filter((item) => !String(item.webhookId).startsWith('#')).map((item) => this.fromItem(item)));
  }

  async listByAccount(accountId: string): Promise<Webhook[]> {
    const items: Webhook[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'accountId = :a',
          ExpressionAttributeValues: { ':a': accountId },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(await this.fromItems(page.Items ?? [])));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  async get(accountId: string, webhookId: string): Promise<Webhook | undefined> {
    if (webhookId.startsWith('#')) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { accountId, webhookId }, ConsistentRead: true }));
    return out.Item ? this.fromItem(out.Item) : undefined;
  }

  async markFailing(accountId: string, webhookId: string, since: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :since)',
        ConditionExpression: 'attribute_exists(webhookId)',
        ExpressionAttributeValues: { ':since': since },
      }),
    );
  }

  async clearFailing(accountId: string, webhookId: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'REMOVE failingSince',
        ConditionExpression: 'attribute_exists(failingSince)',
      }),
    );
  }

  async autoDisable(accountId: string, webhookId: string, reason: string, at: string): Promise<boolean> {
    return this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'SET enabled = :false, #status = :auto, disabledReason = :reason, updatedAt = :at REMOVE failingSince',
        ConditionExpression: 'enabled = :true',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':false': false, ':true': true, ':auto': 'auto-disabled', ':reason': reason, ':at': at },
      }),
    );
  }

  async markSlow(accountId: string, webhookId: string, until: string): Promise<void> {
    if (webhookId === WEBHOOK_COUNTER_ID) return;
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId },
        UpdateExpression: 'SET slowUntil = :until',
        ConditionExpression: 'attribute_exists(webhookId)',
        ExpressionAttributeValues: { ':until': until },
      }),
    );
  }

  /**
   * One conditional UpdateItem. Setting writes the `breaker` map and the index keys
   * (`breakerShard`, `breakerProbeAt`); closing REMOVEs the three. The lease is the condition:
   * `breaker.probeAt = :expected`, or `attribute_not_exists(breaker)` for `null`; a failed
   * condition (lost race, deleted webhook) returns false. `updatedAt` is left alone: it is the
   * management API's optimistic-concurrency token, and a breaker move is no user edit.
   */
  async setBreaker(accountId: string, webhookId: string, next: Breaker | undefined, expected?: { readonly probeAt: string | null }): Promise<boolean> {
    if (webhookId === WEBHOOK_COUNTER_ID) return false;
    const names: Record<string, string> = { '#breaker': 'breaker' };
    const values: Record<string, unknown> = {};
    let condition = 'attribute_exists(webhookId)';
    if (expected) {
      if (expected.probeAt === null) condition += ' AND attribute_not_exists(#breaker)';
      else {
        condition += ' AND #breaker.#probeAt = :expected';
        names['#probeAt'] = 'probeAt';
        values[':expected'] = expected.probeAt;
      }
    }
    let update: string;
    if (next) {
      update = 'SET #breaker = :breaker, breakerShard = :shard, breakerProbeAt = :probeAt';
      values[':breaker'] = { ...next };
      values[':shard'] = BREAKER_SHARD;
      values[':probeAt'] = next.probeAt;
    } else update = `REMOVE #breaker, ${INDEX_ATTRIBUTES.join(', ')}`;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId, webhookId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  /**
   * One Query of the sparse `breakers` index per page (earliest `probeAt` first), one item more
   * than asked so there is no empty last page. The cursor is the last webhook's full index key
   * (probeAt, account, id), so a page boundary holds while other breakers come and go.
   */
  async listBreakers(query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    let startKey: Record<string, unknown> | undefined = query.cursor
      ? { breakerShard: BREAKER_SHARD, ...decodeCursor(query.cursor, ['breakerProbeAt', 'accountId', 'webhookId']) }
      : undefined;
    const items: Record<string, unknown>[] = [];
    let exhausted = false;
    while (items.length <= query.limit && !exhausted) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BREAKERS_INDEX,
          KeyConditionExpression: 'breakerShard = :shard',
          ExpressionAttributeValues: { ':shard': BREAKER_SHARD },
          Limit: query.limit + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
      exhausted = startKey === undefined;
    }
    const more = items.length > query.limit;
    if (more) items.length = query.limit;
    const last = items[items.length - 1];
    const webhooks = await this.fromItems(items);
    return {
      items: webhooks,
      ...(more && last
        ? { nextCursor: encodeCursor({ breakerProbeAt: last.breakerProbeAt, accountId: last.accountId, webhookId: last.webhookId }) }
        : {}),
    };
  }

  /**
   * Reserve a slot on the account's counter (conditional increment), then write the webhook;
   * if the write fails the slot is given back. The counter can only drift upwards (a crash
   * between the two steps), and `reserveSlot` repairs that by recounting.
   */
  async create(webhook: Webhook, maxPerAccount: number): Promise<void> {
    await this.reserveSlot(webhook.accountId, maxPerAccount);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: await this.toItem(webhook),
          ConditionExpression: 'attribute_not_exists(webhookId)',
        }),
      );
    } catch (err) {
      await this.releaseSlot(webhook.accountId).catch(() => undefined);
      throw err;
    }
  }

  async listPage(accountId: string, query: { readonly limit: number; readonly cursor?: string }): Promise<Page<Webhook>> {
    let startKey: Record<string, unknown> | undefined = query.cursor ? { accountId, ...decodeCursor(query.cursor, ['webhookId']) } : undefined;
    const items: Webhook[] = [];
    let exhausted = false;
    // One item more than asked tells whether there is a next page (no empty last page).
    while (items.length <= query.limit && !exhausted) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'accountId = :a AND begins_with(webhookId, :prefix)',
          ExpressionAttributeValues: { ':a': accountId, ':prefix': WEBHOOK_ID_PREFIX },
          Limit: query.limit + 1 - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(await this.fromItems(page.Items ?? [])));
      startKey = page.LastEvaluatedKey;
      exhausted = startKey === undefined;
    }
    const more = items.length > query.limit;
    if (more) items.length = query.limit;
    const last = items[items.length - 1];
    return { items, ...(more && last ? { nextCursor: encodeCursor({ webhookId: last.webhookId }) } : {}) };
  }

  async update(accountId: string, webhookId: string, changes: WebhookChanges, expectUpdatedAt?: string): Promise<Webhook | undefined> {
    if (webhookId === WEBHOOK_COUNTER_ID) return undefined;
    const context = `${accountId}/${webhookId}`;
    const encrypted: WebhookChanges = {
      ...changes,
      ...(changes.secret !== undefined ? { secret: await this.cipher.encrypt(changes.secret, context) } : {}),
      ...(changes.previousSecret !== undefined ? { previousSecret: await this.cipher.encrypt(changes.previousSecret, context) } : {}),
    };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':updatedAt': changes.updatedAt };
    const set = ['updatedAt = :updatedAt'];
    for (const field of SETTABLE) {
      const value = encrypted[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      set.push(`#${field} = :${field}`);
    }
    const remove = (changes.clear ?? []).filter((field) => !(field in changes && changes[field as keyof WebhookChanges] !== undefined));
    for (const field of remove) names[`#${field}`] = field;
    let condition = 'attribute_exists(webhookId)';
    if (expectUpdatedAt !== undefined) {
      // optimistic concurrency: the webhook must not have changed since it was read
      condition += ' AND #expectUpdatedAt = :expectUpdatedAt';
      names['#expectUpdatedAt'] = 'updatedAt';
      values[':expectUpdatedAt'] = expectUpdatedAt;
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId, webhookId },
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.map((f) => `#${f}`).join(', ')}` : ''}`,
          ConditionExpression: condition,
          // An empty PATCH sets only updatedAt: DynamoDB refuses an empty names map.
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? await this.fromItem(out.Attributes) : undefined;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      if (expectUpdatedAt !== undefined && (await this.get(accountId, webhookId))) {
        throw new ConflictError('concurrent_update', 'the webhook changed while this request ran; try again');
      }
      return undefined;
    }
  }

  private async toItem(webhook: Webhook): Promise<Record<string, unknown>> {
    const context = `${webhook.accountId}/${webhook.webhookId}`;
    return {
      ...webhook,
      secret: await this.cipher.encrypt(webhook.secret, context),
      ...(webhook.previousSecret ? { previousSecret: await this.cipher.encrypt(webhook.previousSecret, context) } : {}),
      // A webhook created with a breaker (an import, a fixture) is in the index from the start.
      ...(webhook.breaker ? { breakerShard: BREAKER_SHARD, breakerProbeAt: webhook.breaker.probeAt } : {}),
    };
  }

  async delete(accountId: string, webhookId: string): Promise<boolean> {
    if (webhookId === WEBHOOK_COUNTER_ID) return false;
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: { accountId, webhookId }, ConditionExpression: 'attribute_exists(webhookId)' }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
    // Delete first, decrement second: a crash in between leaves the counter high, which
    // `reserveSlot` repairs; it never lets an account exceed the limit.
    await this.releaseSlot(accountId);
    return true;
  }

  private async reserveSlot(accountId: string, max: number): Promise<void> {
    const at = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId, webhookId: WEBHOOK_COUNTER_ID },
          UpdateExpression: 'SET webhookCount = if_not_exists(webhookCount, :zero) + :one, countUpdatedAt = :at',
          ConditionExpression: 'attribute_not_exists(webhookCount) OR webhookCount < :max',
          ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':max': max, ':at': at },
        }),
      );
      return;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    // At the limit by the counter: check it against the real count before refusing.
    const counter = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { accountId, webhookId: WEBHOOK_COUNTER_ID }, ConsistentRead: true }),
    );
    const seen = counter.Item?.webhookCount as number | undefined;
    const seenAt = counter.Item?.countUpdatedAt as number | undefined;
    if (seen === undefined || seenAt === undefined || at - seenAt < COUNTER_REPAIR_QUIET_MS) throw new WebhookLimitError(max);
    const real = (await this.listByAccount(accountId)).length;
    if (real >= max || real >= seen) throw new WebhookLimitError(max);
    try {
      // Reset to the real count plus this reservation, only if nobody touched the counter since.
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId, webhookId: WEBHOOK_COUNTER_ID },
          UpdateExpression: 'SET webhookCount = :next, countUpdatedAt = :at',
          ConditionExpression: 'webhookCount = :seen AND countUpdatedAt = :seenAt',
          ExpressionAttributeValues: { ':next': real + 1, ':seen': seen, ':seenAt': seenAt, ':at': at },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new WebhookLimitError(max);
      throw err;
    }
  }

  private async releaseSlot(accountId: string): Promise<void> {
    await this.ignoreMissing(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId, webhookId: WEBHOOK_COUNTER_ID },
        UpdateExpression: 'SET webhookCount = webhookCount - :one, countUpdatedAt = :at',
        ConditionExpression: 'webhookCount > :zero',
        ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':at': this.now() },
      }),
    );
  }

  /** Conditional no-ops (webhook deleted, already in that state) are not errors. Returns whether the update was applied. */
  protected async ignoreMissing(command: UpdateCommand): Promise<boolean> {
    try {
      await this.doc.send(command);
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      return false;
    }
  }
}
