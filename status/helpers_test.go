package status

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

const testToken = "test-admin-token"

// MustOpen opens a Service in a fresh directory with fast retries and
// private targets allowed (test receivers listen on loopback).
func MustOpen(tb testing.TB, mod func(*Config)) (*Service, Config) {
	tb.Helper()
	cfg := Config{
		DataDir:          tb.TempDir(),
		AdminToken:       testToken,
		Dev:              true,
		PageName:         "Floodgate",
		PublicURL:        "https://status.example.com",
		Logger:           slog.New(slog.DiscardHandler),
		RetryBase:        30 * time.Millisecond,
		RetryMax:         200 * time.Millisecond,
		AutoOpenAfter:    time.Hour, // tests that need automatic incidents set their own
		AutoResolveAfter: time.Hour,
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		tb.Fatalf("open status service: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, cfg
}

// doJSON sends a JSON request and decodes the JSON answer into out (when
// not nil); it returns the status code.
func doJSON(tb testing.TB, method, url, token string, body any, out any) int {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: answer %d is not JSON: %v: %s", method, url, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode
}

// errorCode returns the "error.code" of an API error body.
func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// received is one request a test receiver took.
type received struct {
	Path    string
	Header  http.Header
	Body    []byte
	Form    map[string][]string
	User    string
	Pass    string
	Success bool
}

// receiver is a real HTTP server that records what it gets. Each path
// fails its first failFirst requests with 500.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	failFirst int
	tries     map[string]int
	got       []received
}

func newReceiver(tb testing.TB, failFirst int) *receiver {
	rc := &receiver{failFirst: failFirst, tries: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.handle))
	tb.Cleanup(rc.Close)
	return rc
}

// newReceiverOn starts rc's server on a listener the test chose.
func newReceiverOn(tb testing.TB, ln net.Listener, rc *receiver) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(rc.handle))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

func (rc *receiver) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		r.Body = io.NopCloser(bytes.NewReader(body))
		_ = r.ParseForm()
		rec.Form = r.PostForm
	}
	rec.User, rec.Pass, _ = r.BasicAuth()
	rc.mu.Lock()
	rc.tries[r.URL.Path]++
	fail := rc.tries[r.URL.Path] <= rc.failFirst
	rec.Success = !fail
	rc.got = append(rc.got, rec)
	rc.mu.Unlock()
	if fail {
		http.Error(w, "not yet", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// accepted returns the requests that were answered 2xx.
func (rc *receiver) accepted() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, r := range rc.got {
		if r.Success {
			out = append(out, r)
		}
	}
	return out
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
