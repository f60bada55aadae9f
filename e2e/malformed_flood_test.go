package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestMalformedFloodOpensNoIncident: a flood of malformed requests — tickets
// with over-long header fields, garbage tokens, broken JSON, bodies over the
// limit, unknown paths, forged forwarding markers — gets 4xx answers, never
// a 5xx, and keeps sending for longer than an automatic incident takes to
// open (15 s): no incident opens, because only failures on our side move
// the error-rate signal.
func TestMalformedFloodOpensNoIncident(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "flood", Name: "Flood", Stock: 5})
	enc := base64.RawURLEncoding.EncodeToString
	sig := enc(make([]byte, 64))
	longFGM := enc([]byte(`{"alg":"EdDSA","fgm":"`+strings.Repeat("A", 300)+`"}`)) + "." +
		enc([]byte(`{"drop":"flood","vid":"v","seq":1,"exp":9999999999}`)) + "." + sig
	type req struct {
		method, path string
		hdr          http.Header
		body         []byte
	}
	reqs := []req{
		{"GET", "/api/v1/drops/flood/queue", testkit.Bearer(longFGM), nil},
		{"GET", "/api/v1/drops/flood/me", testkit.Bearer("not.a.ticket"), nil},
		{"POST", "/api/v1/drops/flood/holds", testkit.Bearer(longFGM), []byte(`{"quantity":1}`)},
		{"POST", "/api/v1/drops/flood/queue", nil, []byte(`{"nonsense":`)},
		{"POST", "/api/v1/drops/flood/queue", nil, bytes.Repeat([]byte("x"), 1<<20+10)},
		{"POST", "/api/v1/holds/h1/order", testkit.Bearer(longFGM), []byte(`{}`)},
		{"GET", "/api/v1/no-such-thing", nil, nil},
		{"POST", "/api/v1/session", nil, []byte(`{"email":"not an email"}`)},
		// The node has no public URL, so it takes no subscriptions.
		{"POST", "/api/v1/subscriptions", nil, []byte(`{"channel":"email","target":"a@example.com"}`)},
		{"POST", "/api/v1/drops/flood/close", http.Header{"X-Floodgate-Forwarded": {"t=1,ip=1.2.3.4,admin=1,mac=x"}}, nil},
	}
	ctx := testkit.Context(t, 60*time.Second)
	until := time.Now().Add(17 * time.Second)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; time.Now().Before(until) && ctx.Err() == nil; i++ {
				r := reqs[i%len(reqs)]
				resp, err := n.Do(ctx, r.method, r.path, r.hdr, r.body)
				if err != nil {
					t.Errorf("%s %s: %v", r.method, r.path, err)
					return
				}
				mu.Lock()
				counts[resp.Status]++
				mu.Unlock()
				if resp.Status >= 500 {
					t.Errorf("%s %s: %d %s", r.method, r.path, resp.Status, resp.Body)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	t.Logf("answers by status: %v", counts)
	time.Sleep(1500 * time.Millisecond) // one more round of health signals
	var out struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/incidents", nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Incidents) != 0 {
		t.Fatalf("a flood of malformed requests opened incidents: %s", out.Incidents)
	}
}
