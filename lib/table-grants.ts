import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { TableDefinition } from './table-definitions';

/**
 * DynamoDB grants "to the action": exactly the API calls a function's code makes, on exactly the
 * resources it makes them on. `grantReadWriteData` and friends would add every read and write
 * action (Scan, BatchGetItem, DeleteItem, ConditionCheckItem, …) and, once a table has a GSI,
 * `<table>/index/*` (every index, cdk-nag AwsSolutions-IAM5), which no function here needs.
 */

/** DynamoDB API actions the functions call (the IAM action has the API operation's name). */
export type DynamoAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchWriteItem' | 'BatchGetItem';

/** Allows `actions` on the table itself (its ARN: items and table-level Query, no index). */
export function allowOnTable(grantee: iam.IGrantable, table: dynamodb.ITable, actions: readonly DynamoAction[]): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [table.tableArn] });
}

/** The ARN of one named index of a table (`<table ARN>/index/<name>`). */
export function indexArn(table: dynamodb.ITable, indexName: string): string {
  return `${table.tableArn}/index/${indexName}`;
}

/** Allows `dynamodb:Query` on the named indexes only (no `index/*`, no table). */
export function allowQueryOnIndexes(grantee: iam.IGrantable, indexes: ReadonlyArray<{ readonly table: dynamodb.ITable; readonly indexName: string }>): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: indexes.map(({ table, indexName }) => indexArn(table, indexName)) });
}

/** `indexName`, checked to be an index of `definition` (so a renamed index fails synth, not a Query in AWS). */
export function definedIndex(definition: TableDefinition, indexName: string): string {
  if (!(definition.indexes ?? []).some((index) => index.indexName === indexName)) {
    throw new Error(`no index "${indexName}" in the table definition (indexes: ${(definition.indexes ?? []).map((i) => i.indexName).join(', ') || 'none'})`);
  }
  return indexName;
}
