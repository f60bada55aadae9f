package testkit

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
)

// MustGet fetches url with a plain GET and returns the answer, its body
// read and closed, and the body as text. It fails the test when the request
// does not get an answer; the status is the caller's to check.
func MustGet(tb testing.TB, url string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	return MustDo(tb, http.DefaultClient, req)
}

// MustGetOK fetches url with a plain GET and returns its body; anything but
// 200 OK fails the test.
func MustGetOK(tb testing.TB, url string) string {
	tb.Helper()
	resp, body := MustGet(tb, url)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

// MustDo sends req with c and returns the answer, its body read and closed,
// and the body as text, like MustGet.
func MustDo(tb testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read the body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// Browser is a client that keeps cookies, as a browser does, and hands back
// redirects instead of following them, so that a test sees each one (the
// sign-in flows of the buyer pages and the console).
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
