import { randomBytes, randomUUID } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DATA_KEY_ITEM, DynamoDataKeyStore } from '../../lambdas/shared/adapters/dynamo-data-key-store';
import { DynamoWebhookStore } from '../../lambdas/shared/adapters/dynamo-webhook-store';
import { KmsEnvelopeCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { ensureTables, type LocalDynamo, startDynalite, type TableNames } from '../../local/dynamo';

/**
 * One data key per deployment (docs/design.md §11): the wrapped key lives in the webhooks table
 * (dynalite here); KMS is a stand-in that wraps keys by XOR with a fixed mask, so Decrypt gives
 * back exactly what GenerateDataKey handed out and each call is counted.
 */
const kms = mockClient(KMSClient);
const MASK = randomBytes(32);
const wrap = (key: Buffer) => Buffer.from(key.map((b, i) => b ^ (MASK[i] as number)));

describe('KMS envelope with one data key per deployment (dynalite)', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  let tables: TableNames;
  const container = () => new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks', new DynamoDataKeyStore(doc, tables.webhooks));
  const wrappedKeyOf = (stored: string) => stored.split(':')[2];

  beforeAll(async () => {
    dynamo = await startDynalite();
    doc = DynamoDBDocumentClient.from(dynamo.client);
  });
  afterAll(async () => {
    doc.destroy();
    await dynamo.close();
  });
  beforeEach(async () => {
    const suffix = randomUUID().slice(0, 8);
    tables = { webhooks: `webhooks-${suffix}`, deliveries: `deliveries-${suffix}`, apiKeys: `apikeys-${suffix}`, stats: `stats-${suffix}` };
    await ensureTables(dynamo.client, tables);
    kms.reset();
    kms.on(GenerateDataKeyCommand).callsFake(async () => {
      const key = randomBytes(32);
      return { Plaintext: key, CiphertextBlob: wrap(key) };
    });
    kms.on(DecryptCommand).callsFake(async (input: { CiphertextBlob: Uint8Array }) => ({ Plaintext: wrap(Buffer.from(input.CiphertextBlob)) }));
  });

  it('the first container generates and stores the key; later containers read it and decrypt it once', async () => {
    const first = container();
    const a = await first.encrypt('whsec_a', 'acc/wh_1');
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    const item = (await doc.send(new GetCommand({ TableName: tables.webhooks, Key: DATA_KEY_ITEM }))).Item;
    expect(item?.wrappedKey).toBe(wrappedKeyOf(a));

    const second = container();
    const b = await second.encrypt('whsec_b', 'acc/wh_2');
    const c = await second.encrypt('whsec_c', 'acc/wh_3');
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    expect(new Set([a, b, c].map(wrappedKeyOf)).size).toBe(1);

    // A reading container (delivery, retry, reconciler): one Decrypt for every secret.
    const reader = new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks');
    await expect(Promise.all([reader.decrypt(a, 'acc/wh_1'), reader.decrypt(b, 'acc/wh_2'), reader.decrypt(c, 'acc/wh_3')])).resolves.toEqual(['whsec_a', 'whsec_b', 'whsec_c']);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(2);
    await expect(reader.decrypt(b, 'acc/wh_1')).rejects.toThrow(); // still bound to its row
  });

  it('containers starting together agree on one key: the conditional put keeps the first', async () => {
    const stored = await Promise.all(Array.from({ length: 5 }, (_, i) => container().encrypt(`whsec_${i}`, `acc/wh_${i}`)));
    expect(new Set(stored.map(wrappedKeyOf)).size).toBe(1);
    const item = (await doc.send(new GetCommand({ TableName: tables.webhooks, Key: DATA_KEY_ITEM }))).Item;
    expect(item?.wrappedKey).toBe(wrappedKeyOf(stored[0] as string));
    const reader = new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks');
    for (const [i, s] of stored.entries()) await expect(reader.decrypt(s, `acc/wh_${i}`)).resolves.toBe(`whsec_${i}`);
  });

  it('secrets written under an earlier per-container key still read, and the key item is in no account', async () => {
    const legacy = await new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks').encrypt('whsec_old', 'acc/wh_old');
    const shared = await container().encrypt('whsec_new', 'acc/wh_new');
    expect(wrappedKeyOf(legacy)).not.toBe(wrappedKeyOf(shared));
    const reader = container();
    await expect(reader.decrypt(legacy, 'acc/wh_old')).resolves.toBe('whsec_old');
    await expect(reader.decrypt(shared, 'acc/wh_new')).resolves.toBe('whsec_new');
    // The item's account id cannot be an account's (they never start with '#'): no account lists it.
    const store = new DynamoWebhookStore(doc, tables.webhooks, reader);
    await expect(store.listByAccount('#deployment')).resolves.toEqual([]);
  });
});
