// A webhook receiver in Node.js (18+) that verifies every delivery with the Standard Webhooks
// library: npm install standardwebhooks
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.WEBHOOK_SECRET); // "whsec_…", from Settings → Webhooks
const seen = new Set(); // webhook-ids already handled; use your database in production

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/webhook') return res.writeHead(404).end();
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8'); // the raw body: verify before parsing
    let visit;
    try {
      visit = wh.verify(body, req.headers); // checks webhook-id, webhook-timestamp, webhook-signature
    } catch (err) {
      console.log(`rejected: ${err.message}`);
      return res.writeHead(400).end();
    }
    const id = req.headers['webhook-id'];
    if (seen.has(id)) {
      console.log(`duplicate ${id}: already handled`);
      return res.writeHead(204).end();
    }
    seen.add(id);
    console.log(`verified ${req.headers['x-webhook-event']} ${id} visit ${visit.id}`);
    res.writeHead(204).end(); // answer fast; do slow work after answering
  });
});

server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/webhook`);
});
