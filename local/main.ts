/**
 * `npm start`: the whole service on this machine, with the handlers that run in AWS.
 *
 * Environment:
 *   PORT                             HTTP port on 127.0.0.1 (default 3000)
 *   WEBHOOKS_DATA_DIR                data directory (default .webhooks-data; ':memory:' for none)
 *   WEBHOOKS_ALLOW_PRIVATE_TARGETS   loopback/private targets (default true locally; false = production SSRF rules)
 *   WEBHOOKS_RETRY_SCHEDULE          retry delays in seconds, e.g. 1,1,2 (default 5,300,1800,7200,18000,36000,36000)
 *   WEBHOOKS_RECONCILE_EVERY_SECONDS reconciler period: probes, release of parked deliveries (default 5 locally; 0 = off)
 *   WEBHOOKS_LOCAL_FAST_LANE_CONCURRENCY  delivery handler invocations at once on the events queue (default 8)
 *   WEBHOOKS_LOCAL_SLOW_LANE_CONCURRENCY  retry handler invocations at once on the retry queue (default 4)
 *   WEBHOOKS_DASHBOARD_FRAME_ANCESTORS  origins that may show the dashboard in an iframe (default none)
 *   WEBHOOKS_LOCAL_PLATFORM_TOKEN    the platform's credential for POST /v1/portal-sessions (default: kept in the data dir)
 *   WEBHOOKS_SHUTDOWN_DRAIN_MS       on SIGTERM/SIGINT, how long in-flight deliveries may finish before they are
 *                                    interrupted and re-queued for the next start (default 30000)
 * Flags: --memory (same as WEBHOOKS_DATA_DIR=:memory:), --port N
 *
 * There is no emulator mode: the delivery pipeline against an AWS emulator (moto) is the AWS
 * emulator suite, test/aws (docs/testing-aws-emulator.md).
 */
// First: these set the environment the modules below read when they load.
import './sdk-notice';
import './local-metrics';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalApiRoutes, ensureDemoKey, LOCAL_PLATFORM_TOKEN_ENV, PLATFORM_TOKEN_FILE } from './api-routes';
import { numberEnv } from '../lambdas/shared/composition/env';
import { LOCAL_DEFAULTS, LOCAL_ENV, type LocalStack, startLocalStack } from './stack';
import { writeStackAddress } from './stack-address';
import { createStaticRoutes, frameAncestorsFromEnv } from './static';

async function main(): Promise<void> {
  // Everything this process writes (the data dir's journals, dynalite's files, the secrets key)
  // is its owner's only: visit payloads hold visitor IPs. The data dir is also tightened to
  // 700/600 at start (local/stack.ts), which covers files written before this setting.
  process.umask(0o077);
  const { values } = parseArgs({ options: { memory: { type: 'boolean', default: false }, port: { type: 'string' } } });
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  const dataDir = values.memory ? ':memory:' : (process.env.WEBHOOKS_DATA_DIR ?? '.webhooks-data');

  // The dashboard (dashboard/dist, built by `prestart`) is served at `/`; the API under /v1.
  const statics = createStaticRoutes(join(__dirname, '..', 'dashboard', 'dist'), { frameAncestors: frameAncestorsFromEnv() });
  let platformToken = '';
  const stack: LocalStack = await startLocalStack({
    port,
    dataDir,
    routes: (core) => {
      const api = createLocalApiRoutes(core);
      platformToken = api.platformToken;
      return async (req, res, body) => (await api(req, res, body)) || (await statics(req, res, body));
    },
  });
  const demo = await ensureDemoKey(stack);
  // Where `npm run send-event` and `npm run apikey` find this stack, whatever its port.
  const forgetAddress = writeStackAddress(dataDir, stack.url);

  const lines = [
    '',
    'visit-webhooks is running locally',
    `  Dashboard      ${stack.url}/                (Settings → Webhooks; paste the API key)`,
    `  API            ${stack.url}/v1            (OpenAPI: ${stack.url}/v1/openapi.json)`,
    `  Event bus      ${stack.url}               (EventBridge PutEvents; any region and credentials)`,
    `  Port           ${new URL(stack.url).port}           (PORT=<n> npm start, or npm start -- --port <n>; the CLIs below find it)`,
    `  Data           ${stack.dataDir ?? 'in memory (nothing is kept)'}`,
    `  Portal session curl -s -X POST ${stack.url}/v1/portal-sessions -H "Authorization: Bearer ${platformTokenShown(stack.dataDir, platformToken)}" -H 'content-type: application/json' -d '{"accountId":"${demo.accountId}"}'`,
    `  Private targets ${stack.env.WEBHOOKS_ALLOW_PRIVATE_TARGETS === 'false' ? 'refused (production SSRF rules)' : 'allowed (loopback receivers work)'}`,
    ...(demo.created
      ? [`  Demo API key   ${demo.apiKey}   (account "${demo.accountId}"; shown once, keep it)`]
      : [`  API keys       existing ones kept; mint another: npm run apikey -- create --account ${demo.accountId} --json`]),
    // It used to start an emulator mode; say so rather than ignore it silently.
    ...(process.env.AWS_ENDPOINT_URL
      ? ['  AWS_ENDPOINT_URL is ignored: npm start always runs in process; against moto, run `bash .ci/moto.sh` (docs/testing-aws-emulator.md)']
      : []),
    '',
    'Try it, in this order (in a second terminal):',
    `  1. export KEY=vwk_...                                  (${demo.created ? 'the demo API key above' : `a key: npm run apikey -- create --account ${demo.accountId}`})`,
    '  2. Create a webhook for a receiver on port 4000; the answer shows its signing secret (whsec_…):',
    `     curl -s -X POST ${stack.url}/v1/webhooks -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\`,
    `          -d '{"name":"demo","url":"http://127.0.0.1:4000/webhook","eventTypes":["NEW_VISIT"]}'`,
    '  3. In a third terminal, start that receiver with the secret:',
    '     npm run receiver -- --secret whsec_... --port 4000',
    '  4. Back in the second, publish a sample visit; the receiver prints it, signature verified:',
    `     npm run send-event -- NEW_VISIT --account ${demo.accountId}`,
    '',
  ];
  console.log(lines.join('\n'));
  const drainMs = numberEnv(LOCAL_ENV.shutdownDrainMs, LOCAL_DEFAULTS.shutdownDrainMs);
  exitOnSignals(
    async () => {
      forgetAddress();
      await stack.close();
    },
    drainMs,
    'queued ones are kept for the next start',
  );
}

/** How the banner names the local platform token: where it is, rather than the token, when it is kept somewhere. */
function platformTokenShown(dataDir: string | undefined, token: string): string {
  if (process.env[LOCAL_PLATFORM_TOKEN_ENV]) return `$${LOCAL_PLATFORM_TOKEN_ENV}`;
  return dataDir ? `$(cat ${join(dataDir, PLATFORM_TOKEN_FILE)})` : token;
}

/**
 * On the first SIGTERM or SIGINT: says so, closes (in-flight deliveries get up to `drainMs` to
 * finish, then are interrupted and re-queued) and exits 0, or 1 if closing failed or overran its
 * bound. A second signal exits at once (1): what was not done is in the journals all the same.
 * `queued` says what happens to the deliveries still queued.
 */
function exitOnSignals(close: () => Promise<void>, drainMs: number, queued: string): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting now; unfinished deliveries run at the next start`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: stopping — in-flight deliveries get up to ${Math.round(drainMs / 1000)} s, then are re-queued; ${queued} (${signal} again to exit now)`);
    // close() is bounded (drain, abort, grace); this is only a backstop against the unforeseen.
    setTimeout(() => {
      console.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, drainMs + 2 * LOCAL_DEFAULTS.abortGraceMs + 5_000).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
