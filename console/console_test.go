package console_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/console"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/localstore"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/status"
)

const root = "console-test-root-token"

// env is a real single-node store with the API (the status page's too) and
// the console in front.
type env struct {
	t   *testing.T
	url string
	srv *fhttp.Server
	now atomic.Int64 // the console's clock, unix seconds offset
}

func newEnv(t *testing.T) *env {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	st := localstore.Leader(t)
	page, err := status.Open(status.Config{DataDir: t.TempDir(), AdminToken: root, Dev: true, Logger: quiet,
		Vouched: fhttp.VouchedAdmin, Caller: fhttp.ResolveCaller, ClientIP: fhttp.ClientIP})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = page.Close() })
	srv := fhttp.New(fhttp.Config{Store: st, Queue: queue.New(queue.Config{Store: st, Logger: quiet}),
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: root, RequestRate: 10000, RequestBurst: 10000, Logger: quiet,
		Status: page.Handler(), StatusPaths: status.Paths})
	e := &env{t: t, srv: srv}
	h, err := console.New(console.Config{API: srv, Key: console.KeyFrom(root), SessionTTL: time.Hour, Logger: quiet, Trusted: clientaddr.NewTrusted(nil),
		Now: func() time.Time { return time.Now().Add(time.Duration(e.now.Load()) * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetConsole(h)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func (e *env) client() *http.Client { return testkit.Browser() }

func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	resp, body := testkit.MustDo(e.t, c, req)
	return resp.StatusCode, body
}

// redirect gets path and returns the status and the Location it answers.
func (e *env) redirect(c *http.Client, path string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	resp, _ := testkit.MustDo(e.t, c, req)
	return resp.StatusCode, resp.Header.Get("Location")
}

func (e *env) post(c *http.Client, path string, form url.Values, hdr ...string) (int, string, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, body := testkit.MustDo(e.t, c, req)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (e *env) signIn(c *http.Client) string {
	e.t.Helper()
	return e.signInWith(c, root)
}

// sessionCookie is the console's sign-in cookie in c's jar, or nil.
func (e *env) sessionCookie(c *http.Client) *http.Cookie {
	u, _ := url.Parse(e.url + "/admin/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "fg_console" {
			return ck
		}
	}
	return nil
}

func TestSessionsCSRFAndExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	// A first visit is asked to sign in, not told its session ended.
	st, loc := e.redirect(c, "/admin/drops/new")
	if st != http.StatusSeeOther || loc != "/admin/login?next=%2Fadmin%2Fdrops%2Fnew" {
		t.Fatalf("a page without a session answered %d to %q, want a redirect to sign in", st, loc)
	}
	if _, page := e.get(c, loc); !strings.Contains(page, "Sign in to continue.") || strings.Contains(page, "ended") {
		t.Fatalf("the sign-in page of a first visit:\n%.2000s", page)
	}
	csrf := e.signIn(c)
	cookie := e.sessionCookie(c)
	if cookie == nil || strings.Contains(cookie.Value, root) {
		t.Fatalf("the session cookie is missing or shows the token: %+v", cookie)
	}
	form := url.Values{"csrf": {csrf}, "id": {"d1"}, "name": {"Drop one"}, "stock": {"5"}}
	// Without the CSRF token, or from another site: refused, nothing made.
	if st, _, _ := e.post(c, "/admin/drops/new", url.Values{"id": {"d1"}, "name": {"x"}, "stock": {"5"}}); st != http.StatusForbidden {
		t.Fatalf("a form without the CSRF token answered %d", st)
	}
	if st, _, _ := e.post(c, "/admin/drops/new", form, "Origin", "https://evil.example"); st != http.StatusForbidden {
		t.Fatalf("a form from another origin answered %d", st)
	}
	if st, _ := e.get(c, "/admin/drops/d1"); st != http.StatusNotFound {
		t.Fatalf("a refused form made the drop (%d)", st)
	}
	// A bad value is answered beside its field with the API's message.
	bad := url.Values{"csrf": {csrf}, "id": {"d1"}, "name": {"Drop one"}, "stock": {"0"}}
	st, _, page := e.post(c, "/admin/drops/new", bad)
	if st != http.StatusBadRequest || !strings.Contains(page, `id="e-stock"`) || !strings.Contains(page, "stock") {
		t.Fatalf("stock 0: %d\n%.3000s", st, page)
	}
	if st, loc, _ := e.post(c, "/admin/drops/new", form); st != http.StatusSeeOther || loc != "/admin/drops/d1" {
		t.Fatalf("create: %d %s", st, loc)
	}
	// A double-clicked pause pauses once; the live page says so.
	for range 2 {
		if st, _, _ := e.post(c, "/admin/drops/d1/pause", url.Values{"csrf": {csrf}, "reason": {"check"}}); st != http.StatusSeeOther {
			t.Fatalf("pause: %d", st)
		}
	}
	_, page = e.get(c, "/admin/audit")
	if n := strings.Count(page, "drop.pause"); n != 1 {
		t.Fatalf("the audit page lists %d pauses, want 1", n)
	}
	// Rate 0 is refused beside its field.
	st, _, page = e.post(c, "/admin/drops/d1/update", url.Values{"csrf": {csrf}, "admit_per_second": {"0"}})
	if st != http.StatusBadRequest || !strings.Contains(page, `id="e-admit_per_second"`) {
		t.Fatalf("rate 0: %d", st)
	}
	// The report, its JSON and the orders page render.
	for _, path := range []string{"/admin/drops/d1/report", "/admin/drops/d1/report.json", "/admin/drops/d1/orders?q=x", "/admin/drops/d1/orders.csv", "/admin/incidents"} {
		if st, page := e.get(c, path); st != http.StatusOK {
			t.Fatalf("%s: %d\n%.2000s", path, st, page)
		}
	}
	if _, page := e.get(c, "/admin/drops/d1/report"); !strings.Contains(page, `id="challenges"`) || !strings.Contains(page, "<svg") {
		t.Fatalf("the report lacks the challenge figures or its charts:\n%.3000s", page)
	}
	if st, _ := e.get(c, "/admin/drops/nope/report"); st != http.StatusNotFound {
		t.Fatalf("the report of a drop that does not exist: %d", st)
	}
	// Closing needs the drop's id typed.
	if st, _, _ := e.post(c, "/admin/drops/d1/close", url.Values{"csrf": {csrf}, "confirm": {"d"}}); st != http.StatusBadRequest {
		t.Fatalf("close without the id: %d", st)
	}
	// The session ends after its lifetime.
	e.now.Store(int64(2 * time.Hour / time.Second))
	st, loc = e.redirect(c, "/admin/")
	if st != http.StatusSeeOther || !strings.HasSuffix(loc, "&ended=1") {
		t.Fatalf("an expired session answered %d to %q, want a redirect that says it ended", st, loc)
	}
	if _, page := e.get(c, loc); !strings.Contains(page, "Your session ended; sign in again to continue.") {
		t.Fatalf("the sign-in page after a session ended:\n%.2000s", page)
	}
	e.now.Store(0)
	// Sign out forgets the cookie.
	csrf = e.signIn(c)
	if st, _, _ := e.post(c, "/admin/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("sign out: %d", st)
	}
	if st, _ := e.get(c, "/admin/"); st != http.StatusSeeOther {
		t.Fatalf("after sign out: %d", st)
	}
}

func TestSignInIsLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := range 10 {
		if st, _, _ := e.post(c, "/admin/login", url.Values{"token": {"wrong-token-wrong"}}); st != http.StatusUnauthorized {
			t.Fatalf("wrong token %d answered %d", i, st)
		}
	}
	if st, _, _ := e.post(c, "/admin/login", url.Values{"token": {root}}); st != http.StatusTooManyRequests {
		t.Fatalf("after 10 wrong tokens, sign-in answered %d", st)
	}
	e.now.Store(61)
	if st, _, _ := e.post(c, "/admin/login", url.Values{"token": {root}}); st != http.StatusSeeOther {
		t.Fatalf("a minute later, sign-in answered %d", st)
	}
}

// TestSignInLimitBehindAProxy: behind a trusted proxy (loopback here), the
// limit counts the address the proxy forwards, so one operator guessing
// does not lock out the others behind the same proxy.
func TestSignInLimitBehindAProxy(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := range 10 {
		st, _, _ := e.post(c, "/admin/login", url.Values{"token": {"wrong-token-wrong"}}, "X-Forwarded-For", "203.0.113.7")
		if st != http.StatusUnauthorized {
			t.Fatalf("wrong token %d answered %d", i, st)
		}
	}
	if st, _, _ := e.post(c, "/admin/login", url.Values{"token": {root}}, "X-Forwarded-For", "203.0.113.7"); st != http.StatusTooManyRequests {
		t.Fatalf("after 10 wrong tokens from 203.0.113.7, sign-in answered %d", st)
	}
	if st, _, _ := e.post(e.client(), "/admin/login", url.Values{"token": {root}}, "X-Forwarded-For", "203.0.113.8"); st != http.StatusSeeOther {
		t.Fatalf("another operator behind the same proxy: sign-in answered %d", st)
	}
}

// TestOversizedFormRefusedAsItArrives: a signed-in form over the API's body
// limit is answered 413 once the limit is passed, while the rest of it is
// still held back by the client: the console does not wait for (and hold in
// memory) the 10 MB net/http would read. Nothing is made.
func TestOversizedFormRefusedAsItArrives(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	csrf := e.signIn(c)
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	go func() {
		// 2 MiB, and then nothing until the test ends.
		_, _ = pw.Write([]byte("csrf=" + csrf + "&id=big&name=Big&stock=5&vouchers="))
		_, _ = pw.Write(bytes.Repeat([]byte("V"), 2<<20))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/admin/drops/new", pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("no answer while the rest of a 2 MiB form was held back: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MiB form answered %d, want 413", resp.StatusCode)
	}
	if st, _ := e.get(c, "/admin/drops/big"); st != http.StatusNotFound {
		t.Fatalf("the refused form made the drop (%d)", st)
	}
}

// TestOversizedSignInForm: a sign-in form over its 64 KiB limit is answered
// 413, not 400 with "enter the admin token" (the form read as empty), and
// does not sign in even when a valid token is in it; a form of normal size
// still does.
func TestOversizedSignInForm(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	st, _, body := e.post(c, "/admin/login", url.Values{"token": {root}, "pad": {strings.Repeat("p", 70<<10)}})
	if st != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 70 KiB sign-in form answered %d, want 413: %.200s", st, body)
	}
	if e.sessionCookie(c) != nil {
		t.Fatal("an oversized sign-in form signed in")
	}
	if st, _, _ := e.post(c, "/admin/login", url.Values{"token": {root}}); st != http.StatusSeeOther {
		t.Fatalf("sign-in after the oversized form answered %d, want 303", st)
	}
}
