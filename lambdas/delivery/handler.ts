import { createDeliveryRuntime } from '../shared/composition/delivery-runtime';
import { createDeliveryHandler } from './app';

/** Lambda entry point: consumes the events queue (EventBridge rule target). */
export const handler = createDeliveryHandler(createDeliveryRuntime());
