package testkit

import (
	"io"
	"net/http"
	"testing"
)

// MustGet fetches url with a plain GET and returns the answer, its body
// read and closed, and the body as text. It fails the test when the request
// does not get an answer; the status is the caller's to check.
func MustGet(tb testing.TB, url string) (*http.Response, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read the body: %v", url, err)
	}
	return resp, string(b)
}
