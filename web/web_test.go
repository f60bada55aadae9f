package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/web"
)

// drops is a DropReader over a fixed set of drops: the pages only read a
// drop's name, price and start, which the core serves in production.
type drops map[string]floodgate.Drop

func (d drops) Drop(_ context.Context, id string) (floodgate.Drop, error) {
	if dr, ok := d[id]; ok {
		return dr, nil
	}
	return floodgate.Drop{}, floodgate.Errorf(floodgate.ENotFound, "no drop %q", id)
}

func demoDrops() drops {
	return drops{"mini-speaker": {
		ID: "mini-speaker", Name: "Mini AI speaker", Price: 59000, Currency: "KRW",
		Stock: 3000, Available: 3000, State: floodgate.DropScheduled,
		StartsAt: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), PerCustomerLimit: 1, HoldSeconds: 300,
	}}
}

// downProvider is a provider whose outage the test controls, wrapping the
// dev provider.
type downProvider struct {
	*identity.Dev
	down atomic.Bool
}

func (p *downProvider) Down() bool { return p.down.Load() }
func (p *downProvider) AuthCodeURL(ctx context.Context, f identity.Flow) (string, error) {
	if p.down.Load() {
		return "", floodgate.Errorf(floodgate.EUnavailable, "down")
	}
	return p.Dev.AuthCodeURL(ctx, f)
}

func newServer(t *testing.T, p identity.Provider) (*httptest.Server, *identity.Sessions) {
	t.Helper()
	sessions := identity.NewSessions([]byte("test-key-test-key-test-key-32byt"), time.Hour)
	h, err := web.New(web.Config{Drops: demoDrops(), Sessions: sessions, Provider: p, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, sessions
}

func client(*testing.T) *http.Client { return testkit.Browser() }

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return testkit.MustDo(t, c, req)
}

func TestDropPageLanguages(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	c := client(t)
	resp, body := get(t, c, srv.URL+"/d/mini-speaker", "Accept-Language", "en-US,en;q=0.9")
	if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "₩59,000") || !strings.Contains(body, "Join the waiting room") {
		t.Fatalf("English page: %d\n%s", resp.StatusCode, body)
	}
	_, body = get(t, c, srv.URL+"/d/mini-speaker", "Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5")
	if !strings.Contains(body, `<html lang="ko">`) || !strings.Contains(body, "59,000원") || !strings.Contains(body, "대기실 입장하기") || !strings.Contains(body, "11월 23일 20:00 (KST)") {
		t.Fatalf("Korean page:\n%s", body)
	}
	// The switch wins over Accept-Language and is remembered.
	_, body = get(t, c, srv.URL+"/d/mini-speaker?lang=en", "Accept-Language", "ko")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("?lang=en did not switch to English")
	}
	_, body = get(t, c, srv.URL+"/d/mini-speaker", "Accept-Language", "ko")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("the language choice was not remembered")
	}
	if html, _, _ := strings.Cut(body, `id="fg-i18n"`); strings.Contains(html, "{n}") || strings.Contains(html, "{price}") {
		t.Fatal("a placeholder was left unfilled")
	}
}

func TestUnknownAndMalformedDrops(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	for _, p := range []string{"/d/nope", "/d/..%2f..%2fetc", "/d/%3Cscript%3E"} {
		resp, body := get(t, client(t), srv.URL+p)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Sale not found") || strings.Contains(body, "<script>") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/d/mini-speaker":               "/d/mini-speaker",
		"/d/mini-speaker?lang=ko":       "/d/mini-speaker?lang=ko",
		"":                              "/",
		"https://evil.example/":         "/",
		"//evil.example/x":              "/",
		"/\\evil.example":               "/",
		"\\\\evil.example":              "/",
		"javascript:alert(1)":           "/",
		"/d/x\r\nSet-Cookie: a=b":       "/",
		"/%2F%2Fevil.example":           "/%2F%2Fevil.example",
		"http:/evil.example":            "/",
		" /d/x":                         "/",
		"/d/x\t":                        "/",
		"/@evil.example":                "/@evil.example",
		"/%2F\"":                        "/",
		"/%2Fevil.example\"":            "/",
		"/" + strings.Repeat("a", 1000): "/",
	} {
		if got := web.SafeReturn(in); got != want {
			t.Errorf("SafeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/d/x", "//evil", "/\\evil", "https://e", "/a?b=c#d", "/%2F\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := web.SafeReturn(s)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("SafeReturn(%q) = %q leaves the site", s, got)
		}
	})
}

// devLogin runs the whole dev sign-in from /login to the callback and
// returns the final redirect.
func devLogin(t *testing.T, c *http.Client, base, ret, email string) (callbackURL string, final *http.Response) {
	t.Helper()
	resp, _ := get(t, c, base+"/login?return="+url.QueryEscape(ret))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), identity.DevLoginPath+"?state=") {
		t.Fatalf("/login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	resp, err := c.PostForm(base+identity.DevLoginPath, url.Values{"state": {state}, "email": {email}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dev login: %d", resp.StatusCode)
	}
	callbackURL = base + resp.Header.Get("Location")
	final, _ = get(t, c, callbackURL)
	return callbackURL, final
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "fg_session" {
			return ck.Value
		}
	}
	return ""
}

func TestDevLoginComesBackToTheSamePageWithASession(t *testing.T) {
	srv, sessions := newServer(t, identity.NewDev())
	c := client(t)
	_, resp := devLogin(t, c, srv.URL, "/d/mini-speaker?lang=ko", "Buyer@Example.com")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/d/mini-speaker?lang=ko" {
		t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	customer, err := sessions.Verify(sessionCookie(c, srv.URL), time.Now())
	if err != nil || customer != "buyer@example.com" {
		t.Fatalf("session: %q %v", customer, err)
	}
	_, body := get(t, c, srv.URL+"/d/mini-speaker")
	if !strings.Contains(body, `data-customer="buyer@example.com"`) {
		t.Fatal("the page does not know the signed-in buyer")
	}
}

func TestDevLoginRejectsABadEmail(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	c := client(t)
	resp, err := c.PostForm(srv.URL+identity.DevLoginPath, url.Values{"state": {"x"}, "email": {"nobody"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `aria-invalid="true"`) {
		t.Fatalf("bad email: %d %s", resp.StatusCode, b)
	}
}

func TestCallbackReplayTamperAndForeignState(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	c := client(t)
	cb, resp := devLogin(t, c, srv.URL, "/d/mini-speaker", "a@example.com")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d", resp.StatusCode)
	}
	first := sessionCookie(c, srv.URL)

	// The same callback again, in the same browser: refused, and the
	// session already given is not replaced.
	resp, body := get(t, c, cb)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This sign-in link cannot be used") {
		t.Fatalf("replayed callback: %d", resp.StatusCode)
	}
	if sessionCookie(c, srv.URL) != first {
		t.Fatal("a replayed callback changed the session")
	}

	// The callback in another browser (no flow cookie): refused.
	resp, _ = get(t, client(t), cb)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback from another browser: %d", resp.StatusCode)
	}

	// A flow cookie with its signature tampered: refused, even with the
	// right state.
	c2 := client(t)
	resp, _ = get(t, c2, srv.URL+"/login?return=/d/mini-speaker")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	u, _ := url.Parse(srv.URL + "/auth/callback")
	for _, ck := range c2.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "fg_login_") {
			ck.Value = ck.Value[:len(ck.Value)-2] + "xx"
			ck.Path = "/auth/callback" // replace the cookie, do not add one
			c2.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	resp, _ = get(t, c2, srv.URL+"/auth/callback?"+url.Values{"state": {state}, "code": {"a@example.com"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest || sessionCookie(c2, srv.URL) != "" {
		t.Fatalf("tampered flow cookie: %d", resp.StatusCode)
	}
}

func TestOpenRedirectInReturnIsNeutralised(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	c := client(t)
	_, resp := devLogin(t, c, srv.URL, "//evil.example/phish", "a@example.com")
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Fatalf("return to another site: Location = %q, want /", loc)
	}
}

func TestProviderDownSendsTheBuyerBackWithABanner(t *testing.T) {
	p := &downProvider{Dev: identity.NewDev()}
	p.down.Store(true)
	srv, _ := newServer(t, p)
	c := client(t)
	resp, _ := get(t, c, srv.URL+"/login?return=/d/mini-speaker")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/d/mini-speaker?login=unavailable" {
		t.Fatalf("/login while down: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := get(t, c, srv.URL+"/d/mini-speaker?login=unavailable")
	if !strings.Contains(body, "The sign-in service is not answering") || !strings.Contains(body, `data-idp-down="true"`) {
		t.Fatal("the page does not show the outage banner")
	}
	_, body = get(t, c, srv.URL+"/auth/health")
	if !strings.Contains(body, `"down":true`) {
		t.Fatalf("/auth/health = %s", body)
	}
	p.down.Store(false)
	_, body = get(t, c, srv.URL+"/auth/health")
	if !strings.Contains(body, `"down":false`) {
		t.Fatalf("/auth/health after recovery = %s", body)
	}
}

func TestStaticAssetsAndSecurityHeaders(t *testing.T) {
	srv, _ := newServer(t, identity.NewDev())
	resp, body := get(t, client(t), srv.URL+"/static/app.js")
	if resp.StatusCode != 200 || !strings.Contains(body, "EventSource") {
		t.Fatalf("app.js: %d", resp.StatusCode)
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatal("no CSP")
	}
	resp, _ = get(t, client(t), srv.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("index: %d", resp.StatusCode)
	}
}

// listedDrops also lists its drops, as the core's reader does.
type listedDrops struct{ drops }

func (l listedDrops) Drops() []floodgate.Drop {
	var out []floodgate.Drop
	for _, d := range l.drops {
		out = append(out, d)
	}
	return out
}

func TestIndexListsDropsOrRedirects(t *testing.T) {
	sessions := identity.NewSessions([]byte("k"), time.Hour)
	h, err := web.New(web.Config{Drops: listedDrops{demoDrops()}, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := get(t, client(t), srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/d/mini-speaker"`) || !strings.Contains(body, "Mini AI speaker") {
		t.Fatalf("index: %d %s", resp.StatusCode, body)
	}
	h, _ = web.New(web.Config{Drops: demoDrops(), Sessions: sessions, DefaultDrop: "mini-speaker"})
	srv2 := httptest.NewServer(h)
	defer srv2.Close()
	resp, _ = get(t, client(t), srv2.URL+"/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/d/mini-speaker" {
		t.Fatalf("index with a default drop: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSecureCookiesBelieveOnlyTrustedProxies: a cookie is Secure when the
// buyer came over TLS through a trusted proxy (loopback by default, or one
// in Config.Trusted) that says X-Forwarded-Proto: https; a client's own
// header is not believed.
func TestSecureCookiesBelieveOnlyTrustedProxies(t *testing.T) {
	sessions := identity.NewSessions([]byte("k"), time.Hour)
	proxy := netip.MustParsePrefix("10.1.0.0/16")
	h, err := web.New(web.Config{Drops: demoDrops(), Sessions: sessions, Trusted: clientaddr.NewTrusted([]netip.Prefix{proxy})})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		peer   string
		secure bool
	}{{"127.0.0.1:5000", true}, {"10.1.2.3:5000", true}, {"203.0.113.7:5000", false}} {
		req := httptest.NewRequest(http.MethodGet, "/d/mini-speaker?lang=ko", nil)
		req.RemoteAddr = c.peer
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cookies := rec.Result().Cookies()
		if len(cookies) == 0 || cookies[0].Secure != c.secure {
			t.Errorf("X-Forwarded-Proto: https from %s: cookies %v; want Secure %v", c.peer, cookies, c.secure)
		}
	}
}
