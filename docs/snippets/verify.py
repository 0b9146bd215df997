# A webhook receiver in Python (3.9+) that verifies every delivery with the Standard Webhooks
# library: pip install standardwebhooks
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

wh = Webhook(os.environ["WEBHOOK_SECRET"])  # "whsec_…", from Settings → Webhooks
seen = set()  # webhook-ids already handled; use your database in production


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/webhook":
            return self.answer(404)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))  # the raw body
        try:
            visit = wh.verify(body, dict(self.headers))  # checks webhook-id, -timestamp, -signature
        except (WebhookVerificationError, ValueError) as err:
            print(f"rejected: {err}", flush=True)
            return self.answer(400)
        webhook_id = self.headers["webhook-id"]
        if webhook_id in seen:
            print(f"duplicate {webhook_id}: already handled", flush=True)
            return self.answer(204)
        seen.add(webhook_id)
        print(f"verified {self.headers['x-webhook-event']} {webhook_id} visit {visit['id']}", flush=True)
        self.answer(204)  # answer fast; do slow work after answering

    def answer(self, status):
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass  # no access log on stderr


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver)
print(f"listening on http://127.0.0.1:{server.server_address[1]}/webhook", flush=True)
server.serve_forever()
