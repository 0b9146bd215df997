import { createDeliveryRuntime } from '../shared/composition/delivery-runtime';
import { createRetryHandler } from './app';

/** Lambda entry point: consumes the retry queue (re-delay hops and due retries). */
export const handler = createRetryHandler(createDeliveryRuntime());
