package web_test

import (
	"context"
	"encoding/json"
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

// call makes an API call and decodes the JSON answer, whatever its status,
// into out (if not nil); hdr are more header names and values.
func (n *node) call(method, path, bearer string, body any, out any, hdr ...string) int {
	n.t.Helper()
	h := http.Header{}
	if bearer != "" {
		h = testkit.Bearer(bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	resp, err := n.Do(context.Background(), method, path, h, b)
	if err != nil {
		n.t.Fatal(err)
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			n.t.Fatalf("%s %s: %d %s", method, path, resp.Status, resp.Body)
		}
	}
	return resp.Status
}

type dropSpec = testkit.DropRequest

// createDrop creates a drop of a Korean speaker with the defaults of these
// tests for what d leaves out.
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
	n.MustCreateDrop(n.t, d)
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
