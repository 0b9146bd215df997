/**
 * `npm run apikey -- <command>`: mints, lists and revokes API keys of the management API.
 *
 *   create --account <id> [--json]   prints the new key once (--json: {"accountId","apiKey"} only)
 *   list   --account <id> [--json]
 *   revoke --key <apiKey> | --id <keyId> [--json]
 *
 * Store: with API_KEYS_TABLE_NAME (and no WEBHOOKS_LOCAL_URL), the DynamoDB table of that name;
 * region, credentials and endpoint come from the usual AWS environment (AWS_REGION,
 * AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, …). Otherwise the running local stack, through its
 * loopback-only /_local/api-keys endpoints (local/admin-routes.ts), found by --url,
 * WEBHOOKS_LOCAL_URL or PORT when given, else by the address `npm start` writes to its data dir
 * (local/stack-address.ts), else port 3000; when none answers, it says where it looked. Only the
 * key (or JSON) goes to stdout; notes go to stderr.
 */
import '../local/sdk-notice';
import { parseArgs } from 'node:util';
import { createDocumentClient } from '../lambdas/shared/adapters/dynamo-client';
import { DynamoApiKeyStore } from '../lambdas/shared/adapters/dynamo-api-key-store';
import { optionalEnv } from '../lambdas/shared/composition/env';
import { ENV } from '../lambdas/shared/contract';
import { isWellFormedApiKey, keyIdOf } from '../lambdas/shared/domain/api-keys';
import { ValidationError } from '../lambdas/shared/domain/errors';
import { LOCAL_ADMIN_PREFIX } from '../local/admin-routes';
import { findLocalStack } from '../local/stack-address';
import type { ApiKeyInfo } from '../lambdas/shared/domain/ports';

const USAGE = `usage:
  npm run apikey -- create --account <id> [--json] [--url http://127.0.0.1:<port>]
  npm run apikey -- list --account <id> [--json] [--url …]
  npm run apikey -- revoke (--key <apiKey> | --id <keyId>) [--json] [--url …]

Store: DynamoDB table $${ENV.apiKeysTable} when set (AWS credentials from the environment),
otherwise the running local stack: --url, $WEBHOOKS_LOCAL_URL or $PORT when given, else the
address \`npm start\` keeps in its data dir (.webhooks-data/local-stack.json), else port 3000.`;

class UsageError extends Error {}

/** The operations the CLI needs, whichever store is behind them. */
interface KeyBackend {
  readonly description: string;
  create(accountId: string): Promise<{ accountId: string; apiKey: string; keyId: string }>;
  list(accountId: string): Promise<ApiKeyInfo[]>;
  /** Undefined when there is no such key. */
  revoke(ref: { keyId: string } | { apiKey: string }): Promise<ApiKeyInfo | undefined>;
}

function dynamoBackend(tableName: string): KeyBackend {
  const store = new DynamoApiKeyStore(createDocumentClient(), tableName);
  return { description: `DynamoDB table ${tableName}`, create: (a) => store.create(a), list: (a) => store.list(a), revoke: (r) => store.revoke(r) };
}

function localBackend(baseUrl: string): KeyBackend {
  const base = baseUrl.replace(/\/+$/, '') + LOCAL_ADMIN_PREFIX;
  async function call<T>(method: string, url: string, body?: unknown): Promise<{ status: number; json: T }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Error(`cannot reach the local stack at ${baseUrl} (is \`npm start\` running?): ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${url} answered ${res.status} with a non-JSON body`);
    }
    if (res.status >= 400 && res.status !== 404) {
      const message = (json as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`;
      throw res.status === 400 ? new ValidationError([{ path: '', message }]) : new Error(`${method} ${url}: ${message}`);
    }
    return { status: res.status, json: json as T };
  }
  return {
    description: `local stack at ${baseUrl}`,
    create: async (accountId) => (await call<{ accountId: string; apiKey: string; keyId: string }>('POST', base, { accountId })).json,
    list: async (accountId) => (await call<{ items: ApiKeyInfo[] }>('GET', `${base}?accountId=${encodeURIComponent(accountId)}`)).json.items,
    revoke: async (ref) => {
      // The local contract revokes by public id; a full key names its id by its prefix.
      const keyId = 'keyId' in ref ? ref.keyId : keyIdOf(ref.apiKey);
      const out = await call<ApiKeyInfo>('DELETE', `${base}/${encodeURIComponent(keyId)}`);
      return out.status === 404 ? undefined : out.json;
    },
  };
}

async function selectBackend(env: NodeJS.ProcessEnv, url: string | undefined): Promise<KeyBackend> {
  const localUrl = optionalEnv('WEBHOOKS_LOCAL_URL', env);
  const table = optionalEnv(ENV.apiKeysTable, env);
  if (table && !localUrl && url === undefined) return dynamoBackend(table);
  return localBackend((await findLocalStack({ env, ...(url !== undefined ? { url } : {}) })).url);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      key: { type: 'string' },
      id: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!command || extra.length > 0) throw new UsageError(command ? `unexpected arguments: ${extra.join(' ')}` : 'a command is required');
  const backend = () => selectBackend(process.env, values.url);
  switch (command) {
    case 'create': {
      if (!values.account) throw new UsageError('create needs --account <id>');
      const created = await (await backend()).create(values.account);
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ accountId: created.accountId, apiKey: created.apiKey })}\n`);
      } else {
        process.stderr.write(`API key ${created.keyId} for account ${created.accountId} (shown once; only its hash is stored):\n`);
        process.stdout.write(`${created.apiKey}\n`);
      }
      return;
    }
    case 'list': {
      if (!values.account) throw new UsageError('list needs --account <id>');
      const keys = await (await backend()).list(values.account);
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ items: keys })}\n`);
        return;
      }
      if (keys.length === 0) process.stderr.write(`no API keys for account ${values.account}\n`);
      for (const k of keys) process.stdout.write(`${k.keyId}\t${k.createdAt}\t${k.revoked ? `revoked ${k.revokedAt ?? ''}`.trim() : 'active'}\n`);
      return;
    }
    case 'revoke': {
      if (Boolean(values.key) === Boolean(values.id)) throw new UsageError('revoke needs exactly one of --key <apiKey> or --id <keyId>');
      if (values.key && !isWellFormedApiKey(values.key)) throw new UsageError('--key is not an API key (vwk_ + 43 characters)');
      const ref = values.key ? { apiKey: values.key } : { keyId: values.id as string };
      const revoked = await (await backend()).revoke(ref);
      if (!revoked) throw new Error(`no such API key: ${'keyId' in ref ? ref.keyId : keyIdOf(ref.apiKey)}`);
      if (values.json) process.stdout.write(`${JSON.stringify(revoked)}\n`);
      else process.stdout.write(`revoked ${revoked.keyId} (account ${revoked.accountId})\n`);
      return;
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`apikey: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
