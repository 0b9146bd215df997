import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { SIGNING_SECRET_PREFIX } from '../contract';
import type { SecretCipher } from '../domain/ports';

type KmsSdk = typeof import('@aws-sdk/client-kms');
let sdk: KmsSdk | undefined;
/** `@aws-sdk/client-kms`, required on first use (the first secret to decrypt), not at init. */
function kmsSdk(): KmsSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= require('@aws-sdk/client-kms') as KmsSdk);
}

const PLAINTEXT_PREFIX = SIGNING_SECRET_PREFIX;

function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url')).join('.');
}

function open(key: Buffer, sealed: string, context: string): string {
  const [iv, tag, ct] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !ct) throw new Error('malformed encrypted secret');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

/** A plaintext `whsec_` value (written before encryption was on, or by hand) reads as itself. */
function legacy(stored: string): string | undefined {
  return stored.startsWith(PLAINTEXT_PREFIX) ? stored : undefined;
}

/** AES-256-GCM with a local 32-byte key: `enc:v1:<iv>.<tag>.<ciphertext>`. */
export class LocalKeyCipher implements SecretCipher {
  private static readonly PREFIX = 'enc:v1:';

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the local secrets key must be 32 bytes');
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    return LocalKeyCipher.PREFIX + seal(this.key, plaintext, context);
  }

  async decrypt(stored: string, context: string): Promise<string> {
    const plain = legacy(stored);
    if (plain) return plain;
    if (!stored.startsWith(LocalKeyCipher.PREFIX)) throw new Error('secret is not encrypted with the local key');
    return open(this.key, stored.slice(LocalKeyCipher.PREFIX.length), context);
  }
}

/**
 * Where the deployment's one wrapped (KMS-encrypted) data key is kept, so every container that
 * encrypts uses the same data key instead of minting its own.
 */
export interface WrappedDataKeyStore {
  /** The stored wrapped key (base64url), if any. */
  get(): Promise<string | undefined>;
  /** Stores `wrapped` unless a key is already stored; returns the stored one (this or the earlier). */
  putIfAbsent(wrapped: string): Promise<string>;
}

/**
 * KMS envelope encryption: `kms:v1:<encrypted data key>:<iv>.<tag>.<ciphertext>`.
 *
 * With a {@link WrappedDataKeyStore}, one data key serves the whole deployment: the first
 * container to encrypt generates it (GenerateDataKey) and stores it wrapped, conditionally, so
 * concurrent first writers agree on one; every other container reads it and decrypts it once.
 * Readers decrypt each wrapped key they meet once per container (the key travels in every
 * stored secret, so secrets written under earlier keys still read). AES-256-GCM with random
 * 96-bit IVs stays within NIST SP 800-38D's bound (collision probability ≤ 2^-32) for 2^32
 * encryptions per key; secrets are encrypted on create and rotate only, so a deployment is many
 * orders of magnitude below it (deleting the stored key starts a new one for new secrets).
 * Without a store, each container generates its own data key (the behaviour before).
 */
export class KmsEnvelopeCipher implements SecretCipher {
  private static readonly PREFIX = 'kms:v1:';
  private dataKey: Promise<{ plaintext: Buffer; encrypted: string }> | undefined;
  private readonly decrypted = new Map<string, Promise<Buffer>>();

  private kmsClient: KMSClient | undefined;

  /** Without a client, one is created on first use. */
  constructor(
    kms: KMSClient | undefined,
    private readonly keyId: string,
    private readonly keyStore?: WrappedDataKeyStore,
  ) {
    this.kmsClient = kms;
  }

  private get kms(): KMSClient {
    return (this.kmsClient ??= new (kmsSdk().KMSClient)({}));
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    this.dataKey ??= this.loadDataKey();
    const key = await this.dataKey.catch((err: unknown) => {
      this.dataKey = undefined;
      throw err;
    });
    return `${KmsEnvelopeCipher.PREFIX}${key.encrypted}:${seal(key.plaintext, plaintext, context)}`;
  }

  /** The deployment's data key (read, or generated and stored first), or without a store this container's own. */
  private async loadDataKey(): Promise<{ plaintext: Buffer; encrypted: string }> {
    const stored = await this.keyStore?.get();
    if (stored) return { plaintext: await this.unwrap(stored), encrypted: stored };
    const out = await this.kms.send(new (kmsSdk().GenerateDataKeyCommand)({ KeyId: this.keyId, KeySpec: 'AES_256' }));
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
    const mine = { plaintext: Buffer.from(out.Plaintext), encrypted: Buffer.from(out.CiphertextBlob).toString('base64url') };
    this.decrypted.set(mine.encrypted, Promise.resolve(mine.plaintext));
    if (!this.keyStore) return mine;
    // Another container may have stored one first: use that one.
    const winner = await this.keyStore.putIfAbsent(mine.encrypted);
    return winner === mine.encrypted ? mine : { plaintext: await this.unwrap(winner), encrypted: winner };
  }

  async decrypt(stored: string, context: string): Promise<string> {
    const plain = legacy(stored);
    if (plain) return plain;
    if (!stored.startsWith(KmsEnvelopeCipher.PREFIX)) throw new Error('secret is not KMS-encrypted');
    const [encryptedKey, sealed] = stored.slice(KmsEnvelopeCipher.PREFIX.length).split(':');
    if (!encryptedKey || !sealed) throw new Error('malformed encrypted secret');
    return open(await this.unwrap(encryptedKey), sealed, context);
  }

  /** A wrapped data key's plaintext: one KMS Decrypt per key per container. */
  private unwrap(encryptedKey: string): Promise<Buffer> {
    let key = this.decrypted.get(encryptedKey);
    if (!key) {
      key = this.kms.send(new (kmsSdk().DecryptCommand)({ CiphertextBlob: Buffer.from(encryptedKey, 'base64url'), KeyId: this.keyId })).then((out) => {
        if (!out.Plaintext) throw new Error('KMS returned no plaintext');
        return Buffer.from(out.Plaintext);
      });
      key.catch(() => this.decrypted.delete(encryptedKey));
      if (this.decrypted.size > 1000) this.decrypted.clear();
      this.decrypted.set(encryptedKey, key);
    }
    return key;
  }
}

/**
 * For a runtime that must never see a signing secret (the reconciler: it lists webhooks to manage
 * their breakers and never signs). Every secret reads as the empty string, which the signer refuses
 * (`secretKey` throws on an empty key), and storing one is an error; so the function needs no
 * `kms:Decrypt` and a compromised reconciler cannot reveal secrets.
 */
export class WithheldSecretCipher implements SecretCipher {
  async encrypt(): Promise<string> {
    throw new Error('this runtime may not store signing secrets');
  }

  async decrypt(): Promise<string> {
    return '';
  }
}
