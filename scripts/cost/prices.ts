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
  /** API Gateway REST API calls (first tier; the tiers below). Optional: tables without it price no API. */
  apiGateway?: { restRequestsPerMillion: number };
  /** Volume tiers of the prices that have them (table's `tiersNote`); without one, the flat price above. */
  tiers?: Partial<Record<TierName, Tiers>>;
}

export type TierName = 'lambdaGbSecondArm64' | 'lambdaGbSecondX86' | 'sqsStandardRequestsPerMillion' | 'apiGatewayRestRequestsPerMillion' | 'dataTransferOutPerGb' | 'lambdaLogsIngestionPerGb';
/** `[up to this monthly quantity, price]`, ascending; `null`: everything above the previous bound. */
export type Tiers = ReadonlyArray<readonly [number | null, number]>;

/**
 * The month's charge for `quantity` on volume tiers, less what `free` covers (the always-free
 * allowance is used up from the first tier). `per`: the price's unit (1e6 for a price per million).
 */
export function tiered(quantity: number, tiers: Tiers, free = 0, per = 1): number {
  const cost = (q: number) => {
    let total = 0;
    let below = 0;
    for (const [upTo, price] of tiers) {
      const top = upTo ?? Number.POSITIVE_INFINITY;
      if (q <= below) break;
      total += ((Math.min(q, top) - below) * price) / per;
      below = top;
    }
    return total;
  };
  return Math.max(0, cost(quantity) - cost(Math.min(quantity, free)));
}

/** `prices.tiers[name]`, or the flat `price` as a single tier. */
export const tiersOf = (prices: RegionPrices, name: TierName, price: number): Tiers => prices.tiers?.[name] ?? [[null, price]];

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
