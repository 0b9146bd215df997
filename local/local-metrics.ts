/**
 * `npm start` runs the functions' handlers in one process, where Powertools Metrics would print
 * each invocation's CloudWatch EMF blob (raw JSON) to the console between the runtime's readable
 * lines. Nothing reads them locally, so they are off unless asked for:
 * POWERTOOLS_METRICS_DISABLED=false npm start prints them as in Lambda. Imported before anything
 * that loads the Powertools instances (lambdas/shared/adapters/powertools.ts reads the variable
 * when it loads).
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export {};
