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

/** KMS envelope encryption: `kms:v1:<encrypted data key>:<iv>.<tag>.<ciphertext>`. */
export class KmsEnvelopeCipher implements SecretCipher {
  private static readonly PREFIX = 'kms:v1:';
  private dataKey: Promise<{ plaintext: Buffer; encrypted: string }> | undefined;
  private readonly decrypted = new Map<string, Promise<Buffer>>();

  private kmsClient: KMSClient | undefined;

  /** Without a client, one is created on first use. */
  constructor(
    kms: KMSClient | undefined,
    private readonly keyId: string,
  ) {
    this.kmsClient = kms;
  }

  private get kms(): KMSClient {
    return (this.kmsClient ??= new (kmsSdk().KMSClient)({}));
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    this.dataKey ??= this.kms.send(new (kmsSdk().GenerateDataKeyCommand)({ KeyId: this.keyId, KeySpec: 'AES_256' })).then((out) => {
      if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
      return { plaintext: Buffer.from(out.Plaintext), encrypted: Buffer.from(out.CiphertextBlob).toString('base64url') };
    });
    const key = await this.dataKey.catch((err: unknown) => {
      this.dataKey = undefined;
      throw err;
    });
    return `${KmsEnvelopeCipher.PREFIX}${key.encrypted}:${seal(key.plaintext, plaintext, context)}`;
  }

  async decrypt(stored: string, context: string): Promise<string> {
    const plain = legacy(stored);
    if (plain) return plain;
    if (!stored.startsWith(KmsEnvelopeCipher.PREFIX)) throw new Error('secret is not KMS-encrypted');
    const [encryptedKey, sealed] = stored.slice(KmsEnvelopeCipher.PREFIX.length).split(':');
    if (!encryptedKey || !sealed) throw new Error('malformed encrypted secret');
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
    return open(await key, sealed, context);
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
