package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testkit/chrome"
)

// This file is the end-to-end harness: it starts the real floodgate binary
// through internal/testkit (a free loopback port, its own data directory)
// and drives Debian's headless Chromium against it.

const adminToken = "web-e2e-admin-token"

func TestMain(m *testing.M) { os.Exit(testkit.RunMain(m)) }

// node is one running floodgate serve --dev, started through testkit.
type node struct {
	*testkit.Node
	t    *testing.T
	Addr string
}

// startNode starts floodgate serve --dev with extra flags; addr may be ""
// for a free port.
func startNode(t *testing.T, addr string, extra ...string) *node {
	t.Helper()
	n := testkit.StartNode(t, testkit.Options{HTTPAddr: addr, AdminToken: adminToken, Args: extra})
	return &node{Node: n, t: t, Addr: n.HTTPAddr}
}

// call makes an API call and decodes the JSON answer into out (if not nil).
func (n *node) call(method, path, bearer string, body any, out any, hdr ...string) int {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			n.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

type dropSpec struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Price            int64    `json:"price"`
	Currency         string   `json:"currency"`
	Stock            int64    `json:"stock"`
	PerCustomerLimit int64    `json:"per_customer_limit"`
	StartsAt         string   `json:"starts_at,omitempty"`
	HoldSeconds      int64    `json:"hold_seconds"`
	AdmitPerSecond   int64    `json:"admit_per_second"`
	Vouchers         []string `json:"vouchers,omitempty"`
	// ChallengeDifficulty is "auto" or 0-28; nil leaves the default.
	ChallengeDifficulty any `json:"challenge_difficulty,omitempty"`
}

func (n *node) createDrop(d dropSpec) {
	n.t.Helper()
	if d.Name == "" {
		d.Name = "Mini AI speaker"
	}
	if d.Currency == "" {
		d.Currency = "KRW"
	}
	if d.Price == 0 {
		d.Price = 59000
	}
	if d.HoldSeconds == 0 {
		d.HoldSeconds = 300
	}
	if d.PerCustomerLimit == 0 {
		d.PerCustomerLimit = 1
	}
	if d.AdmitPerSecond == 0 {
		d.AdmitPerSecond = 100
	}
	var out map[string]any
	if code := n.call("POST", "/api/v1/drops", adminToken, d, &out); code != 201 && code != 200 {
		n.t.Fatalf("create drop %s: %d %v", d.ID, code, out)
	}
}

type orderJSON struct {
	ID       string `json:"id"`
	HoldID   string `json:"hold_id"`
	Customer string `json:"customer"`
	Voucher  string `json:"voucher"`
}

func (n *node) orders(drop string) []orderJSON {
	n.t.Helper()
	var out struct {
		Orders []orderJSON `json:"orders"`
	}
	if code := n.call("GET", "/api/v1/drops/"+drop+"/orders", adminToken, nil, &out); code != 200 {
		n.t.Fatalf("orders of %s: %d", drop, code)
	}
	return out.Orders
}

type meJSON struct {
	State    string `json:"state"`
	Position int64  `json:"position"`
	Hold     *struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		ExpiresAt string `json:"expires_at"`
		Paused    bool   `json:"paused"`
	} `json:"hold"`
	Order *orderJSON `json:"order"`
}

func (n *node) me(drop, ticket string) meJSON {
	n.t.Helper()
	var m meJSON
	if code := n.call("GET", "/api/v1/drops/"+drop+"/me", ticket, nil, &m); code != 200 {
		n.t.Fatalf("me: %d", code)
	}
	return m
}

// browser is one headless Chromium at a phone's width (360 CSS pixels).
type browser = chrome.Browser

func newBrowser(t *testing.T, lang string) *browser {
	t.Helper()
	return newBrowserIn(t, lang, t.TempDir())
}

// newBrowserIn starts Chromium on the profile in dir; a second browser on
// the same dir is the same browser closed and opened again.
func newBrowserIn(t *testing.T, lang, dir string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	chrome.NeedE2E(t)
	return chrome.New(t, chrome.Options{Lang: lang, Scale: 2, Dir: dir, Extra: extra})
}
