package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestSharedAddressDefaults: 250 buyers behind one address (as behind a
// carrier NAT) join, hold, sign in and order at the same moment against a
// node started with the default limits. Every one of them is served at the
// first try (no 429), and the stock is exact.
func TestSharedAddressDefaults(t *testing.T) {
	const buyers = 250
	n := testkit.StartNode(t, testkit.Options{KeepRateLimits: true})
	n.MustCreateDrop(t, testkit.DropRequest{
		ID: "nat", Name: "NAT", Stock: buyers, PerCustomerLimit: 1, HoldSeconds: 300,
		AdmitPerSecond: 1000, AdmitWindowSeconds: 30,
	})
	ctx := testkit.Context(t, 60*time.Second)
	var limited atomic.Int64
	errs := make([]error, buyers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			<-start
			errs[i] = buyOnce(ctx, n.Client, "nat", fmt.Sprintf("nat%03d@example.com", i), &limited)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if l := limited.Load(); l > 0 {
		t.Errorf("%d answers were 429 rate_limited for buyers behind one address with default flags", l)
	}
	d := n.MustDrop(t, "nat")
	if d.Sold != buyers || d.Available != 0 || d.Held != 0 || d.Available+d.Held+d.Sold != d.Stock {
		t.Errorf("drop after %d buyers: available %d held %d sold %d stock %d", buyers, d.Available, d.Held, d.Sold, d.Stock)
	}
	if got := len(n.MustOrders(t, "nat")); got != buyers {
		t.Errorf("%d orders, want %d", got, buyers)
	}
}

// buyOnce is one buyer going through the whole sale; a 429 on any step is
// counted and is a failure. Waiting in the queue polls with the ticket.
func buyOnce(ctx context.Context, c *testkit.Client, drop, email string, limited *atomic.Int64) error {
	check := func(step string, err error) error {
		if err == nil {
			return nil
		}
		if testkit.Code(err) == floodgate.ERateLimited {
			limited.Add(1)
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	tk, err := c.Join(ctx, drop)
	if err != nil {
		return check("join", err)
	}
	for {
		st, err := c.QueueStatus(ctx, drop, tk.Ticket)
		if err != nil {
			return check("queue status", err)
		}
		if st.State == floodgate.QueueAdmitted {
			break
		}
		if st.State != floodgate.QueueWaiting {
			return fmt.Errorf("queue state %q", st.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond): // as the page polls without a stream
		}
	}
	h, _, err := c.Hold(ctx, drop, tk.Ticket, 1)
	if err != nil {
		return check("hold", err)
	}
	sess, err := c.Session(ctx, email)
	if err != nil {
		return check("session", err)
	}
	if _, _, err := c.Order(ctx, h.ID, tk.Ticket, sess, "k-"+email); err != nil {
		return check("order", err)
	}
	return nil
}

// startLoopbackProxy runs a reverse proxy on loopback in front of target, as
// Caddy or nginx on the same host would: it names the client in
// X-Forwarded-For (here: the X-Test-Client header of the request, standing
// for the address the proxy saw) and says the buyer came over HTTPS.
func startLoopbackProxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
		pr.Out.Header.Set("X-Forwarded-For", pr.In.Header.Get("X-Test-Client"))
		pr.Out.Header.Set("X-Forwarded-Proto", "https")
		pr.Out.Header.Del("X-Test-Client")
	}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestLoopbackProxyTrustedByDefault: behind a reverse proxy on loopback and
// with default flags, the per-address join ceiling counts the address the
// proxy forwarded for, not the proxy's: one address that floods joins is
// refused at the ceiling while another address behind the same proxy still
// joins.
func TestLoopbackProxyTrustedByDefault(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{KeepRateLimits: true})
	// The join challenge is off for this drop, so that the flood below
	// meets the per-address ceiling itself.
	n.MustCreateDrop(t, testkit.DropRequest{ID: "proxied", Name: "Proxied", Stock: 10, ChallengeDifficulty: 0})
	proxyURL := startLoopbackProxy(t, n.URL)
	ctx := testkit.Context(t, 60*time.Second)
	join := func(client string) int {
		c := testkit.NewClient(proxyURL, "")
		resp, err := c.Do(ctx, http.MethodPost, "/api/v1/drops/proxied/queue", http.Header{"X-Test-Client": {client}}, nil)
		if err != nil {
			t.Fatalf("join through the proxy: %v", err)
		}
		return resp.Status
	}
	// The flood: the default ceiling is far above a NAT of people, but
	// not endless.
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 200 && refused.Load() == 0; i++ {
				switch st := join("198.51.100.7"); st {
				case http.StatusCreated:
					ok.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("worker %d: join answered %d", w, st)
					return
				}
			}
		})
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Fatalf("%d joins from one address in a burst were all accepted: the per-address ceiling is gone", ok.Load())
	}
	if ok.Load() < 200 {
		t.Errorf("only %d joins from one address before the ceiling; a NAT of people needs more", ok.Load())
	}
	if st := join("198.51.100.8"); st != http.StatusCreated {
		t.Errorf("another address behind the same loopback proxy: join answered %d, want 201 (the proxy's own address was limited, not the buyer's)", st)
	}
	if st := join("2001:db8:1:2::7"); st != http.StatusCreated {
		t.Errorf("an IPv6 buyer: join answered %d, want 201", st)
	}
}
