package http_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/fairness"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// TestConcurrentBuyersEachKeepTheirOwn: buyers who hold and order at the
// same moment each get, and leave in the state, an order of their own hold
// for their own customer under their own Idempotency-Key, their hold under
// their own ticket's visitor, however the write path shares memory (bodies
// read into and answers written from reused buffers, a pooled copy of the
// command, ticket and session claims read in place, a command's text read
// from the log entry's bytes). A replay of each key finds that buyer's order,
// and the answers' receipts and the tickets joined meanwhile, signed from
// one pool of prepared nonces, never share a nonce.
func TestConcurrentBuyersEachKeepTheirOwn(t *testing.T) {
	const buyers = 24
	st := leaderStore(t)
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond, SignAhead: 4 * buyers, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(t, q.Run)
	sessions := identity.NewSessions([]byte("own-orders-test-session-key-32by"), time.Hour)
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: q, Sessions: sessions, RequestRate: 1e6, RequestBurst: 1e6})
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, fmt.Sprintf(`{"id":"lamp","name":"Lamp","stock":%d,"per_customer_limit":1,"admit_per_second":1000,"challenge_difficulty":0}`, buyers)); a.status != http.StatusCreated {
		t.Fatalf("create the drop: %d %s", a.status, a.body)
	}
	var keys *queue.Keys
	testkit.WaitFor(t, "the cluster secret", func() bool { k, _, err := q.Keys(); keys = k; return err == nil })
	testkit.WaitFor(t, "the nonces prepared", func() bool { return keys.Presigned().Full() })

	type buyer struct {
		ticket, visitor, customer, session, key string
		hold                                    floodgate.Hold
		order                                   floodgate.Order
	}
	bs := make([]buyer, buyers)
	for i := range bs {
		b := &bs[i]
		b.ticket = joinTicket(t, hs.URL, "lamp")
		b.visitor = ticketVisitor(t, b.ticket)
		b.customer = fmt.Sprintf("buyer-%02d@example.com", i)
		b.key = fmt.Sprintf("order-key-%02d-%s", i, strings.Repeat("k", i))
		var err error
		if b.session, err = sessions.Issue(b.customer, "dev", time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// Each step runs every buyer at once; a buyer's failure is reported
	// from the test's goroutine.
	each := func(step string, f func(b *buyer) error) {
		t.Helper()
		errs := make([]error, buyers)
		var wg sync.WaitGroup
		for i := range bs {
			wg.Go(func() { errs[i] = f(&bs[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s of buyer %d: %v", step, i, err)
			}
		}
	}
	each("the hold", func(b *buyer) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			a, err := callFrom("POST", hs.URL+"/api/v1/drops/lamp/holds", b.ticket, "", `{"quantity":1}`)
			if err != nil {
				return err
			}
			if a.status == http.StatusCreated {
				return json.Unmarshal([]byte(a.body), &b.hold)
			}
			if !strings.Contains(a.body, floodgate.ENotAdmitted) || time.Now().After(deadline) {
				return fmt.Errorf("%d %s", a.status, a.body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	// Tickets are signed from the pool while the orders' receipts are.
	var tickets []string
	joined := make(chan struct{})
	go func() {
		defer close(joined)
		for range buyers {
			a, err := callFrom("POST", hs.URL+"/api/v1/drops/lamp/queue", "", "", "")
			var j struct{ Ticket string }
			if err != nil || a.status != http.StatusCreated || json.Unmarshal([]byte(a.body), &j) != nil {
				t.Errorf("a join during the orders: %v %d %s", err, a.status, a.body)
				return
			}
			tickets = append(tickets, j.Ticket)
		}
	}()
	place := func(b *buyer, want int) (floodgate.Order, error) {
		var o floodgate.Order
		a, err := callFrom("POST", hs.URL+"/api/v1/holds/"+b.hold.ID+"/order", b.ticket, b.key, `{"session":"`+b.session+`"}`)
		if err == nil && a.status != want {
			err = fmt.Errorf("%d %s, want %d", a.status, a.body, want)
		}
		if err == nil {
			err = json.Unmarshal([]byte(a.body), &o)
		}
		if err == nil && (o.HoldID != b.hold.ID || o.Customer != b.customer || o.Drop != "lamp" || o.Quantity != 1) {
			err = fmt.Errorf("answered %+v for the hold %s of %s", o, b.hold.ID, b.customer)
		}
		return o, err
	}
	each("the order", func(b *buyer) (err error) {
		b.order, err = place(b, http.StatusCreated)
		return err
	})
	<-joined
	each("the replay", func(b *buyer) error {
		o, err := place(b, http.StatusOK)
		if err == nil && o.ID != b.order.ID {
			err = fmt.Errorf("the key %q found order %s, not %s", b.key, o.ID, b.order.ID)
		}
		return err
	})
	each("the hold read back", func(b *buyer) error {
		a, err := callFrom("GET", hs.URL+"/api/v1/holds/"+b.hold.ID, b.ticket, "", "")
		if err == nil && (a.status != http.StatusOK || !strings.Contains(a.body, `"status":"ordered"`)) {
			err = fmt.Errorf("%d %s", a.status, a.body)
		}
		return err
	})

	st.Read(func(s *sale.State) {
		for i, b := range bs {
			h, o := s.Holds.Get(b.hold.ID), s.Orders.Get(b.order.ID)
			if h == nil || o == nil || h.Visitor != b.visitor || h.OrderID != o.ID ||
				o.HoldID != h.ID || o.Customer != b.customer || o.IdemKey != b.key {
				t.Errorf("buyer %d (visitor %s, %s, key %q): the state keeps hold %+v and order %+v", i, b.visitor, b.customer, b.key, h, o)
			}
		}
		if d := s.Drops["lamp"]; d.Sold != buyers || d.Available != 0 || d.Held != 0 {
			t.Errorf("sold %d, available %d, held %d of %d", d.Sold, d.Available, d.Held, buyers)
		}
	})

	var jwks fairness.JWKS
	if a := call(t, "GET", hs.URL+"/.well-known/jwks.json", "", ""); json.Unmarshal([]byte(a.body), &jwks) != nil {
		t.Fatalf("the key set: %d %s", a.status, a.body)
	}
	nonces := map[string]string{}
	seen := func(what, token string) {
		sig, err := base64.RawURLEncoding.DecodeString(token[strings.LastIndexByte(token, '.')+1:])
		if err != nil || len(sig) != 64 {
			t.Fatalf("%s: signature %v", what, err)
		}
		if other, dup := nonces[string(sig[:32])]; dup {
			t.Fatalf("%s and %s were signed with one nonce", what, other)
		}
		nonces[string(sig[:32])] = what
	}
	for i, b := range bs {
		r, err := fairness.VerifyReceipt(jwks, b.order.Receipt)
		if err != nil || r.Order != b.order.ID {
			t.Fatalf("the receipt of buyer %d's order %s: %+v %v", i, b.order.ID, r.Leaf, err)
		}
		seen(fmt.Sprintf("the receipt of order %s", b.order.ID), b.order.Receipt)
		seen(fmt.Sprintf("ticket %d", i), b.ticket)
	}
	for i, tok := range tickets {
		seen(fmt.Sprintf("ticket %d joined during the orders", i), tok)
	}
}

// joinTicket joins drop's queue on the server at url and returns the ticket.
func joinTicket(t *testing.T, url, drop string) string {
	t.Helper()
	a := call(t, "POST", url+"/api/v1/drops/"+drop+"/queue", "", "")
	var j struct{ Ticket string }
	if err := json.Unmarshal([]byte(a.body), &j); a.status != http.StatusCreated || err != nil {
		t.Fatalf("join: %d %s", a.status, a.body)
	}
	return j.Ticket
}

// ticketVisitor reads a ticket's visitor id without checking the ticket.
func ticketVisitor(t *testing.T, ticket string) string {
	t.Helper()
	var claims struct {
		Visitor string `json:"vid"`
	}
	testkit.MustClaims(t, ticket, &claims)
	if claims.Visitor == "" {
		t.Fatalf("the ticket %s names no visitor", ticket)
	}
	return claims.Visitor
}

// callFrom sends one API call from any goroutine: a bearer token and an
// Idempotency-Key when given.
func callFrom(method, url, token, key, body string) (answer, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}, err
}
