import { readFileSync } from 'node:fs';
import { usage } from './arguments';

/** One region's list prices (bench/prices.json). */
export interface RegionPrices {
  name: string;
  verified: string;
  lambda: { requestsPerMillion: number; gbSecondArm64: number; gbSecondX86: number };
  sqs: { standardRequestsPerMillion: number; billedChunkBytes: number };
  eventbridge: { customEventsPerMillion: number; billedChunkBytes: number };
  dynamodb: { onDemandWritePerMillion: number; onDemandReadPerMillion: number; storageGbMonth: number; pitrGbMonth: number };
  cloudwatch: { logsIngestionPerGb: number; logsStoragePerGbMonth: number; customMetricMonth: number; standardAlarmMonth: number };
  kms: { keyMonth: number; requestsPer10k: number };
  dataTransfer: { internetOutPerGb: number };
}

export interface PriceTable {
  dated: string;
  basis: string;
  regions: Record<string, RegionPrices>;
  freeTier: Record<string, number | string>;
  assumptions: { lambdaFullVcpuAtMb: number; dynamodbStorageOverheadBytesPerItem: number; logsCompressionRatio: number };
}

/** The price table in `file` and the prices of `region` in it (a usage error if it has none). */
export function loadPrices(file: string, region: string): { table: PriceTable; prices: RegionPrices } {
  const table = JSON.parse(readFileSync(file, 'utf8')) as PriceTable;
  const prices = table.regions[region];
  if (!prices) usage(`no prices for region ${region} in ${file}; known: ${Object.keys(table.regions).join(', ')}`);
  return { table, prices };
}
