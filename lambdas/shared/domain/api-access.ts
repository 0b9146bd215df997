import type { ApiKeyStore, Clock, RateLimiter } from './ports';

/**
 * What the API function checks on every authenticated request, after the authorizer
 * (docs/design.md §6, §11):
 *
 * - **The key is still valid.** API Gateway caches the authorizer's answer per key for
 *   `API.authorizerCacheSeconds`, so without this a revoked key would keep working, secrets
 *   included, until its entry expires. One consistent `GetItem` by the key's hash per request
 *   makes revocation immediate for everything the API function serves.
 * - **The account is within its request rate.** A per-second counter per account shared by
 *   every container (the webhooks' rate limiter, a conditional `ADD`), so one tenant cannot use
 *   up the stage's throttle or the function's concurrency. It counts per account, not per key:
 *   minting more keys buys no more rate. The authorizer cannot count (its answer is cached, so it
 *   is not called per request); API Gateway usage plans could, but need an API Gateway key per
 *   account, kept in step with ours, and are documented as best effort (docs/design.md §13).
 *
 * A portal session (docs/design.md §11) is no API key: its bearer is a `vps_` token, which the
 * keys table does not resolve. {@link ApiAccess.checkRate} applies the account's rate alone to it
 * (the same counter as the account's keys, so a session buys no more rate); the session's expiry,
 * which the authorizer's cached answer carries, is checked by the API handler itself.
 *
 * A refused take is remembered until the end of its second, so an account over its limit costs
 * one write per container and second, not one per request.
 */

export type AccessDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'invalid_key' }
  | { readonly allowed: false; readonly reason: 'rate_limited'; readonly retryAfterSeconds: number };

export interface ApiAccessSettings {
  /** Requests per second per account (a fixed one-second window). */
  readonly accountRatePerSecond: number;
}

/** The rate limiter's key of an account's API requests (`rate#api:<accountId>`: never a webhook's, which has two `#`). */
export function apiRateKey(accountId: string): string {
  return `api:${accountId}`;
}

/** Accounts remembered as over their limit, at most; beyond it the memo starts afresh. */
const MEMO_MAX = 10_000;

export class ApiAccess {
  /** Account → the epoch second in which it was refused. */
  private readonly overUntilSecond = new Map<string, number>();

  constructor(
    private readonly keys: Pick<ApiKeyStore, 'resolve'>,
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    readonly settings: ApiAccessSettings,
  ) {
    if (!Number.isInteger(settings.accountRatePerSecond) || settings.accountRatePerSecond < 1) {
      throw new Error(`accountRatePerSecond must be a positive integer, got ${settings.accountRatePerSecond}`);
    }
  }

  /**
   * Whether the request of `accountId` (as the authorizer said), made with `apiKey` (the one
   * bearer key of its `Authorization` header, undefined when absent or malformed), may proceed.
   * The key is checked before the rate, so a revoked key's requests never use its account's rate.
   */
  async check(accountId: string, apiKey: string | undefined): Promise<AccessDecision> {
    return this.decide(accountId, async () => apiKey !== undefined && (await this.keys.resolve(apiKey)) === accountId);
  }

  /**
   * Whether a portal session's request for `accountId` is within the account's rate: the rate
   * only, with no key to re-check (the session's token is not an API key; its expiry is the
   * API handler's check). Counts against the same per-account window as the account's keys.
   */
  async checkRate(accountId: string): Promise<AccessDecision> {
    return this.decide(accountId, async () => true);
  }

  private async decide(accountId: string, credentialValid: () => Promise<boolean>): Promise<AccessDecision> {
    const nowMs = this.clock.now();
    const second = Math.floor(nowMs / 1000);
    const retryAfterSeconds = Math.max(1, Math.ceil(((second + 1) * 1000 - nowMs) / 1000));
    if (this.overUntilSecond.get(accountId) === second) return { allowed: false, reason: 'rate_limited', retryAfterSeconds };
    if (!(await credentialValid())) return { allowed: false, reason: 'invalid_key' };
    if (await this.limiter.tryTake(apiRateKey(accountId), this.settings.accountRatePerSecond, nowMs)) return { allowed: true };
    if (this.overUntilSecond.size >= MEMO_MAX) this.overUntilSecond.clear();
    this.overUntilSecond.set(accountId, second);
    return { allowed: false, reason: 'rate_limited', retryAfterSeconds };
  }
}
