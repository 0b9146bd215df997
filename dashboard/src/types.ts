/**
 * The management API's JSON as the dashboard reads it: aliases of the types generated from the
 * OpenAPI document (client/schema.d.ts, `npm run generate:client`), never written by hand, so a
 * change to the API is a type error here and in every component that no longer fits.
 */
import type { Schemas } from '../../client';

export type Webhook = Schemas['Webhook'];
export type WebhookStatus = Webhook['status'];
/** Delivery health, set by the service (read-only). */
export type WebhookHealth = Schemas['WebhookHealth'];
export type CreatedWebhook = Schemas['WebhookCreated'];
/** What create sends (`filter`: a payload filter, an EventBridge event pattern over the visit). */
export type WebhookInput = Schemas['WebhookCreate'];
/** What edit sends (any subset; `rateLimit: null` removes the limit, `filter: null` the filter). */
export type WebhookPatch = Schemas['WebhookPatch'];
export type SecretInfo = Schemas['Secret'];
export type Delivery = Schemas['Delivery'];
export type DeliveryStatus = Delivery['status'];
export type Attempt = Schemas['Attempt'];
export type WebhookPage = Schemas['WebhookPage'];
export type DeliveryPage = Schemas['DeliveryPage'];
export type TestResult = Schemas['TestResult'];
export type RetryAccepted = Schemas['RetryAccepted'];
/** An asynchronous recovery (POST …/recover, GET …/recoveries/{jobId}). */
export type RecoveryJob = Schemas['RecoveryJob'];
/** A webhook's delivery statistics over a window (`GET …/stats`). */
export type WebhookStats = Schemas['WebhookStats'];
export type StatsWindow = WebhookStats['window'];
/** One bucket (an hour or a day) of the statistics, or their totals. */
export type StatsCounts = WebhookStats['totals'];
/** One entry of an error's `details`: `path` names the field (`url`, `headers.Host`, `eventTypes[0]`). */
export type FieldIssue = Schemas['Error']['error']['details'][number];
