package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/queue"
)

// TestOrderKeyMustBeUTF8Text: an Idempotency-Key of raw bytes is refused at
// the door with a clear error. The key is kept in the replicated state, whose
// snapshots are JSON; the log's decoder refuses such text anyway, with a
// vaguer answer.
func TestOrderKeyMustBeUTF8Text(t *testing.T) {
	st := leaderStore(t)
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st})})
	req, err := http.NewRequest("POST", hs.URL+"/api/v1/holds/h_1_visitor/order", strings.NewReader(`{"session":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "key-\xff\xfe")
	if a := send(t, req); a.status != http.StatusBadRequest || a.code != floodgate.EInvalid || !strings.Contains(a.msg, "UTF-8") {
		t.Fatalf("an Idempotency-Key of raw bytes: %d %s; want 400 invalid_argument naming UTF-8", a.status, a.body)
	}
}
