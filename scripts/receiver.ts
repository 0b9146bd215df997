/**
 * A demo receiver: verifies each delivery's signature with the public `standardwebhooks`
 * library (as a customer would) and prints it.
 *
 *   npm run receiver -- --secret whsec_... [--port 4000]
 *
 * Answers 204 to a valid delivery and 400 to one whose signature does not verify.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

const { values } = parseArgs({ options: { secret: { type: 'string' }, port: { type: 'string', default: process.env.RECEIVER_PORT ?? '4000' } } });
const secret = values.secret ?? process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('usage: npm run receiver -- --secret whsec_... [--port 4000]   (the secret is shown when you create the webhook)');
  process.exit(2);
}
const verifier = new Webhook(secret);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    try {
      const payload = verifier.verify(body, headers) as Record<string, unknown>;
      console.log(`${new Date().toISOString()} ✔ ${headers['x-webhook-event'] ?? '?'} webhook-id=${headers['webhook-id'] ?? '?'} signature verified`);
      console.log(JSON.stringify(payload, null, 2));
      res.writeHead(204).end();
    } catch (err) {
      console.log(`${new Date().toISOString()} ✘ signature did not verify (${err instanceof Error ? err.message : String(err)}) webhook-id=${headers['webhook-id'] ?? '?'}`);
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid signature"}');
    }
  });
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`receiver listening on http://127.0.0.1:${port}/webhook — use this URL for your webhook`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
