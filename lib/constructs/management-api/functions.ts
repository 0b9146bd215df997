import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { API, DEFAULTS, ENV } from '../../../lambdas/shared/contract';
import type { LogLevel } from '../../config';
import { WebhooksFunction } from '../../function-defaults';
import { TABLE_DEFINITIONS } from '../../table-definitions';
import { allowOnTable, allowQueryOnIndexes, definedIndex } from '../../table-grants';
import type { ManagementApiProps } from './props';

/** Handler files, relative to the repository root; each exports `handler`. */
export const API_HANDLER_ENTRY = 'lambdas/api/handler.ts';
export const AUTHORIZER_HANDLER_ENTRY = 'lambdas/authorizer/handler.ts';

/**
 * Timeout of the API function. REST API integrations give up after 29 s; ending the function
 * earlier leaves the function's own timeout (logged, alarmed) as what happens first. The
 * slowest operation, a test send, is bounded by the delivery timeout (10 s).
 */
export const API_FUNCTION_TIMEOUT = Duration.seconds(25);
/** The authorizer does one DynamoDB GetItem. */
export const AUTHORIZER_FUNCTION_TIMEOUT = Duration.seconds(10);

/** Settings both functions share. */
export interface ApiFunctionCommon {
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly logLevel?: LogLevel;
}

export interface ApiFunctions {
  /** The API function with its role and log group. */
  readonly handler: WebhooksFunction;
  /** The authorizer function with its role and log group. */
  readonly authorizer: WebhooksFunction;
}

/**
 * The API function and the authorizer, each with exactly the permissions its code uses: the
 * environment the API function reads is paired with a grant per entry.
 */
export function createApiFunctions(scope: Construct, props: ManagementApiProps, common: ApiFunctionCommon): ApiFunctions {
  const handler = new WebhooksFunction(scope, 'Handler', {
    ...common,
    entry: API_HANDLER_ENTRY,
    serviceName: 'webhook-api',
    description: 'Management API: webhooks, secrets, test sends, delivery log, retry and recover',
    timeout: API_FUNCTION_TIMEOUT,
    // Exactly what apiPartsFromEnv and createApiRuntime read, each paired with its grant below.
    environment: {
      [ENV.webhooksTable]: props.webhooksTable.tableName,
      [ENV.deliveriesTable]: props.deliveriesTable.tableName,
      [ENV.statsTable]: props.statsTable.tableName,
      [ENV.retryQueueUrl]: props.retryQueue.queueUrl,
      [ENV.allowHttp]: String(props.allowHttpTargets ?? false),
      [ENV.allowPrivateTargets]: 'false',
      [ENV.retrySchedule]: (props.retryScheduleSeconds ?? DEFAULTS.retryScheduleSeconds).join(','),
      [ENV.retentionDays]: String(props.deliveryRetentionDays ?? DEFAULTS.deliveryRetentionDays),
      [ENV.secretsKmsKeyId]: props.secretsKey.keyArn,
      [ENV.apiKeysTable]: props.apiKeysTable.tableName,
      [ENV.apiAccountRateLimit]: String(props.accountRateLimit ?? API.accountRatePerSecond),
    },
  });
  // What apiPartsFromEnv's stores call for the API's services, on the tables only (no index):
  // webhooks: Query (listPage, and listByAccount when create recounts a drifted counter), GetItem
  // (get, the counter), PutItem (create), UpdateItem (update, the per-account counter), DeleteItem
  // (delete); deliveries: Query (the delivery log; its `status` index for a status filter and
  // recovery), GetItem (get, recovery jobs), BatchGetItem (a record's payload), UpdateItem (write:
  // test sends, retry, recover; the per-account rate counters of the API, `rate#api:<account>`),
  // PutItem (recovery jobs; an event's payload).
  allowOnTable(handler.role, props.webhooksTable, ['Query', 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
  allowOnTable(handler.role, props.deliveriesTable, ['Query', 'GetItem', 'BatchGetItem', 'UpdateItem', 'PutItem']);
  allowQueryOnIndexes(handler.role, [{ table: props.deliveriesTable, indexName: definedIndex(TABLE_DEFINITIONS.deliveries, 'status') }]);
  // Every authenticated request checks its key again, by hash (the authorizer's answer is cached,
  // revocation is not): one GetItem, like the authorizer's, no Query and no index. The account
  // rate counters are UpdateItems on the deliveries table, granted above. Portal sessions: one
  // PutItem of a token hash (POST /v1/portal-sessions). Never a Query or Scan, so a compromised
  // API function cannot list keys or sessions.
  allowOnTable(handler.role, props.apiKeysTable, ['GetItem', 'PutItem']);
  // Statistics: one Query per shard of the webhook's hours (`GET …/stats`); the API never writes them.
  allowOnTable(handler.role, props.statsTable, ['Query']);
  // Retry and recover re-queue deliveries; test sends are attempted inline and never queued.
  // SendMessage only: the URL comes from the environment (no GetQueueUrl), nothing reads attributes.
  handler.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.retryQueue.queueArn] }));
  // Exactly the two calls of KmsEnvelopeCipher (no kms:Encrypt, no ReEncrypt).
  props.secretsKey.grant(handler.role, 'kms:GenerateDataKey', 'kms:Decrypt');

  const authorizer = new WebhooksFunction(scope, 'Authorizer', {
    ...common,
    entry: AUTHORIZER_HANDLER_ENTRY,
    serviceName: 'webhook-authorizer',
    description: 'Management API authorizer: maps an API key (by its hash) to its account',
    timeout: AUTHORIZER_FUNCTION_TIMEOUT,
    environment: { [ENV.apiKeysTable]: props.apiKeysTable.tableName },
  });
  // One GetItem by key hash. `grantReadData` would add Query/Scan and the table's indexes
  // (`…/index/*`), which would let a compromised authorizer enumerate every account's keys.
  authorizer.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [props.apiKeysTable.tableArn] }));

  return { handler, authorizer };
}
