import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsEnvelopeCipher, LocalKeyCipher, WithheldSecretCipher } from '../../lambdas/shared/adapters/secret-cipher';
import { ENV } from '../../lambdas/shared/contract';
import { secretKey } from '../../lambdas/shared/domain/signing';
import { createDeliveryRuntime, secretCipherFromEnv } from '../../lambdas/shared/composition/delivery-runtime';
import { createReconcilerRuntime } from '../../lambdas/shared/composition/reconciler-runtime';

const kms = mockClient(KMSClient);

describe('secret ciphers', () => {
  beforeEach(() => kms.reset());

  it('local key: round-trips, hides the plaintext, and binds the ciphertext to its row', async () => {
    const cipher = new LocalKeyCipher(randomBytes(32));
    const stored = await cipher.encrypt('whsec_abc', 'acc/wh_1');
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain('abc');
    await expect(cipher.decrypt(stored, 'acc/wh_1')).resolves.toBe('whsec_abc');
    await expect(cipher.decrypt(stored, 'acc/wh_2')).rejects.toThrow();
    await expect(new LocalKeyCipher(randomBytes(32)).decrypt(stored, 'acc/wh_1')).rejects.toThrow();
    expect(await cipher.encrypt('whsec_abc', 'acc/wh_1')).not.toBe(stored); // random IV
  });

  it('reads a legacy plaintext secret as itself', async () => {
    await expect(new LocalKeyCipher(randomBytes(32)).decrypt('whsec_plain', 'a/b')).resolves.toBe('whsec_plain');
  });

  it('KMS envelope: one data key per container, each encrypted data key decrypted once', async () => {
    const dataKey = randomBytes(32);
    const encryptedKey = Buffer.from('encrypted-data-key');
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: dataKey, CiphertextBlob: encryptedKey });
    kms.on(DecryptCommand).resolves({ Plaintext: dataKey });
    const writer = new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks');
    const a = await writer.encrypt('whsec_a', 'acc/wh_1');
    const b = await writer.encrypt('whsec_b', 'acc/wh_2');
    expect(a).toMatch(/^kms:v1:/);
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toMatchObject({ KeyId: 'alias/webhooks', KeySpec: 'AES_256' });

    const reader = new KmsEnvelopeCipher(new KMSClient({ region: 'us-east-1' }), 'alias/webhooks');
    await expect(reader.decrypt(a, 'acc/wh_1')).resolves.toBe('whsec_a');
    await expect(reader.decrypt(b, 'acc/wh_2')).resolves.toBe('whsec_b');
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it('refuses to run without a way to encrypt secrets', () => {
    expect(() => secretCipherFromEnv({})).toThrow(/WEBHOOKS_SECRETS_KMS_KEY_ID/);
    expect(secretCipherFromEnv({ WEBHOOKS_SECRETS_KEY: randomBytes(32).toString('base64') })).toBeInstanceOf(LocalKeyCipher);
    expect(secretCipherFromEnv({ WEBHOOKS_SECRETS_KMS_KEY_ID: 'alias/x' })).toBeInstanceOf(KmsEnvelopeCipher);
  });

  it('withheld (the reconciler): every secret reads as empty, which cannot sign, storing one fails, and the runtime needs no key', async () => {
    const cipher = new WithheldSecretCipher();
    const read = await cipher.decrypt();
    expect(read).toBe('');
    expect(() => secretKey(read)).toThrow(/empty/);
    await expect(cipher.encrypt()).rejects.toThrow(/may not store/);
    // The reconciler's environment has no key (and its role no kms:Decrypt); the delivery runtime refuses that.
    const env = { [ENV.webhooksTable]: 'w', [ENV.deliveriesTable]: 'd', [ENV.retryQueueUrl]: 'https://sqs.example/q' };
    expect(() => createDeliveryRuntime({ ...env, [ENV.eventsDlqUrl]: 'https://sqs.example/d', [ENV.failedQueueUrl]: 'https://sqs.example/f' })).toThrow(/encrypted at rest/);
    expect(createReconcilerRuntime(env)).toBeDefined();
    expect(kms.calls()).toHaveLength(0);
  });
});
