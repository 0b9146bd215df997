// A webhook receiver in Go (1.21+) that verifies every delivery with the Standard Webhooks
// library: go get github.com/standard-webhooks/standard-webhooks/libraries
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func main() {
	wh, err := standardwebhooks.NewWebhook(os.Getenv("WEBHOOK_SECRET")) // "whsec_…", from Settings → Webhooks
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{} // webhook-ids already handled; use your database in production

	http.HandleFunc("/webhook", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20)) // the raw body: verify before parsing
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil { // checks webhook-id, -timestamp, -signature
			fmt.Printf("rejected: %v\n", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var visit struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &visit); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := r.Header.Get("webhook-id")
		mu.Lock()
		duplicate := seen[id]
		seen[id] = true
		mu.Unlock()
		if duplicate {
			fmt.Printf("duplicate %s: already handled\n", id)
		} else {
			fmt.Printf("verified %s %s visit %s\n", r.Header.Get("X-Webhook-Event"), id, visit.ID)
		}
		w.WriteHeader(http.StatusNoContent) // answer fast; do slow work after answering
	})

	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s/webhook\n", listener.Addr())
	log.Fatal(http.Serve(listener, nil))
}
