import { createReconcilerRuntime } from '../shared/composition/reconciler-runtime';
import { createReconcilerHandler } from './app';

/** Lambda entry point: the scheduled reconciler. Needs the two tables (and their indexes) and the retry queue. */
export const handler = createReconcilerHandler(createReconcilerRuntime());
