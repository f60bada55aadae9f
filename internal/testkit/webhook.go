package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
)

// validSignature checks a Floodgate-Signature header, "t=<unix seconds>,
// v1=<hex HMAC-SHA256(secret, t + "." + body)>", within five minutes, as the
// docs tell receivers to. (The status package has VerifySignature, but
// testkit cannot import status: the status tests import testkit.)
func validSignature(secret, header string, body []byte, now time.Time) bool {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	got, herr := hex.DecodeString(v1)
	if err != nil || herr != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	d := now.Sub(time.Unix(unix, 0))
	return hmac.Equal(got, m.Sum(nil)) && d < 5*time.Minute && d > -5*time.Minute
}

// WebhookReceiver is a shop's endpoint for order webhooks: it answers 500 to
// the first FailFirst deliveries, checks every signature with the shared
// secret, and records what it accepted in arrival order.
type WebhookReceiver struct {
	URL    string
	secret string

	mu        sync.Mutex
	delay     time.Duration
	failLeft  int
	down      bool
	accepted  []floodgate.Event
	badSigs   int
	badIDs    int
	attempts  int
	lastFails int
}

// StartWebhookReceiver starts a receiver on loopback; it stops when the
// test ends.
func StartWebhookReceiver(tb testing.TB, secret string, failFirst int) *WebhookReceiver {
	w := &WebhookReceiver{secret: secret, failLeft: failFirst}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	tb.Cleanup(srv.Close)
	w.URL = srv.URL + "/hooks/orders"
	return w
}

func (w *WebhookReceiver) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.mu.Lock()
	delay := w.delay
	w.mu.Unlock()
	time.Sleep(delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	if !validSignature(w.secret, r.Header.Get("Floodgate-Signature"), body, time.Now()) {
		w.badSigs++
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	if w.down || w.failLeft > 0 {
		if w.failLeft > 0 {
			w.failLeft--
		}
		w.lastFails++
		http.Error(rw, "the shop is down", http.StatusInternalServerError)
		return
	}
	var e floodgate.Event
	if err := json.Unmarshal(body, &e); err != nil || strconv.FormatUint(e.Seq, 10) != r.Header.Get("Floodgate-Event-Id") {
		w.badIDs++
		http.Error(rw, "bad event", http.StatusBadRequest)
		return
	}
	w.accepted = append(w.accepted, e)
	rw.WriteHeader(http.StatusNoContent)
}

// SetDelay makes the receiver take d for every delivery (a slow shop).
func (w *WebhookReceiver) SetDelay(d time.Duration) {
	w.mu.Lock()
	w.delay = d
	w.mu.Unlock()
}

// SetDown makes the receiver answer 500 to everything (or not).
func (w *WebhookReceiver) SetDown(down bool) {
	w.mu.Lock()
	w.down = down
	w.mu.Unlock()
}

// Accepted returns the events accepted so far, in arrival order (with any
// repeats that at-least-once delivery sent).
func (w *WebhookReceiver) Accepted() []floodgate.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]floodgate.Event(nil), w.accepted...)
}

// Failed returns how many deliveries were refused on purpose, how many had
// a bad signature and how many a missing or wrong Floodgate-Event-Id.
func (w *WebhookReceiver) Failed() (refused, badSignatures, badIDs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastFails, w.badSigs, w.badIDs
}

// CheckInOrder reports the first problem with the accepted events: every
// seq from 1 to last seen at least once, and never a seq lower than one
// before it except as a repeat of an earlier delivery (a redelivery starts
// from the last committed cursor and goes forward again).
func (w *WebhookReceiver) CheckInOrder(last uint64) string {
	evs := w.Accepted()
	seen := map[uint64]bool{}
	var high uint64
	for i, e := range evs {
		switch {
		case e.Seq == high+1:
			high = e.Seq
		case e.Seq <= high && seen[e.Seq]:
			// a repeat
		default:
			return "event " + strconv.Itoa(i) + " has seq " + strconv.FormatUint(e.Seq, 10) + " after " + strconv.FormatUint(high, 10)
		}
		seen[e.Seq] = true
	}
	if high != last {
		return "the receiver got events up to " + strconv.FormatUint(high, 10) + ", want " + strconv.FormatUint(last, 10)
	}
	return ""
}
