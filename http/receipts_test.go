package http_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/fairness"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/queue"
)

// heldOrder is a leader's API with the drop "lamp" on sale and the ticket
// key's nonces prepared, and a buyer of it with a ticket, a hold and a
// session, ready to order.
type heldOrder struct {
	url, ticket, holdID, session string
	keys                         *queue.Keys
	reg                          *prometheus.Registry
}

func holdToOrder(t *testing.T, customer string) heldOrder {
	t.Helper()
	st := leaderStore(t)
	q := queue.New(queue.Config{Store: st, TickInterval: 10 * time.Millisecond, SignAhead: 16, Logger: slog.New(slog.DiscardHandler)})
	testkit.Background(t, q.Run)
	sessions := identity.NewSessions([]byte("receipts-test-session-key-32byte"), time.Hour)
	h := heldOrder{reg: prometheus.NewRegistry()}
	hs := handlerServer(t, fhttp.Config{Store: st, Queue: q, Sessions: sessions, Registry: h.reg})
	if a := call(t, "POST", hs.URL+"/api/v1/drops", handlerToken, `{"id":"lamp","name":"Lamp","stock":3,"per_customer_limit":1,"admit_per_second":100,"challenge_difficulty":0}`); a.status != http.StatusCreated {
		t.Fatalf("create the drop: %d %s", a.status, a.body)
	}
	testkit.WaitFor(t, "the cluster secret", func() bool { k, _, err := q.Keys(); h.keys = k; return err == nil })
	testkit.WaitFor(t, "the nonces prepared", func() bool { return h.keys.Presigned().Full() })
	h.url = hs.URL
	h.ticket, h.holdID = joinAndHold(t, hs.URL, "lamp")
	var err error
	if h.session, err = sessions.Issue(customer, "dev", time.Now()); err != nil {
		t.Fatal(err)
	}
	return h
}

// order orders the hold with body and, when not empty, the buyer page's
// session cookie, under one Idempotency-Key.
func (h heldOrder) order(t *testing.T, body, cookie string) answer {
	t.Helper()
	req, err := http.NewRequest("POST", h.url+"/api/v1/holds/"+h.holdID+"/order", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.ticket)
	req.Header.Set("Idempotency-Key", "receipt-test-1")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: cookie})
	}
	return send(t, req)
}

// TestReceiptsFromPreparedNonces: on a leader with a drop on sale, the
// receipt in the answer to an order is signed from the nonces prepared for
// the ticket key; the buyer's page reads the order later with the
// deterministic receipt (reads come steadily and would keep the pool from
// refilling). Both verify with the published key set alone and sign the
// same leaf. The metrics count the answers' receipts.
func TestReceiptsFromPreparedNonces(t *testing.T) {
	h := holdToOrder(t, "ada@example.com")
	type orderAnswer struct{ ID, Receipt string }
	place := func(want int) orderAnswer {
		a := h.order(t, `{"session":"`+h.session+`"}`, "")
		var o floodgate.Order
		if err := json.Unmarshal([]byte(a.body), &o); a.status != want || err != nil || o.Receipt == "" {
			t.Fatalf("order: %d %s, want %d", a.status, a.body, want)
		}
		// Written by hand, the receipt signed in place: encoding/json's
		// bytes all the same.
		if j, _ := json.Marshal(o); a.body != string(j)+"\n" {
			t.Fatalf("the answer is not json.Marshal's:\n%s\n%s", a.body, j)
		}
		return orderAnswer{o.ID, o.Receipt}
	}
	order := place(http.StatusCreated)
	// The same key again: the same order, its receipt the deterministic
	// one (replays take no nonce: at most one per order created).
	replay := place(http.StatusOK)
	a := call(t, "GET", h.url+"/api/v1/drops/lamp/me", h.ticket, "")
	var me struct{ Order struct{ ID, Receipt string } }
	if err := json.Unmarshal([]byte(a.body), &me); a.status != http.StatusOK || err != nil || me.Order.ID != order.ID {
		t.Fatalf("the buyer's page: %d %s", a.status, a.body)
	}

	var jwks fairness.JWKS
	if a = call(t, "GET", h.url+"/.well-known/jwks.json", "", ""); json.Unmarshal([]byte(a.body), &jwks) != nil {
		t.Fatalf("the key set: %d %s", a.status, a.body)
	}
	first, err := fairness.VerifyReceipt(jwks, order.Receipt)
	if err != nil || first.Order != order.ID {
		t.Fatalf("the order's receipt %s: %+v %v", order.Receipt, first.Leaf, err)
	}
	again, err := fairness.VerifyReceipt(jwks, me.Order.Receipt)
	if err != nil || string(again.Payload) != string(first.Payload) {
		t.Fatalf("the receipt on the buyer's page: %+v %v; want the leaf %s", again.Leaf, err, first.Payload)
	}
	sg := fairness.Signer{Key: h.keys.TicketKey, Kid: h.keys.KeyID}
	if order.Receipt == sg.SignReceipt(first.Payload) {
		t.Fatal("the order's answer was signed deterministically while the pool had nonces")
	}
	if me.Order.Receipt != sg.SignReceipt(first.Payload) || replay.Receipt != me.Order.Receipt || replay.ID != order.ID {
		t.Fatalf("the buyer's page read the order, or its replay answered it, with a receipt that is not the deterministic one:\n%s\n%s", me.Order.Receipt, replay.Receipt)
	}

	prepared, inline := counter(t, h.reg, "floodgate_receipt_signatures_prepared_total"), counter(t, h.reg, "floodgate_receipt_signatures_inline_total")
	if prepared != 1 || inline != 0 {
		t.Fatalf("receipt metrics after one order from a full pool: prepared %v, inline %v", prepared, inline)
	}
}

// TestOrderSessionFromBodyOrCookie: an order's session comes from its body,
// written as the SDKs write it or any other way JSON allows, or, when the
// body has none, from the buyer page's cookie; without either, or with a
// session that does not verify, the order is refused and the hold kept.
func TestOrderSessionFromBodyOrCookie(t *testing.T) {
	h := holdToOrder(t, "grace@example.com")
	session, forged := h.session, h.session[:len(h.session)-2]+"AA"
	for _, c := range []struct {
		body, cookie, code, msg string
	}{
		{`{}`, "", floodgate.EUnauthenticated, `"session" is required`},
		{`{"session":""}`, "", floodgate.EUnauthenticated, `"session" is required`},
		{`{"session":"` + forged + `"}`, "", floodgate.EUnauthenticated, "invalid"},
		{`{"session":"` + forged + `"}`, session, floodgate.EUnauthenticated, "invalid"},
		{`{}`, forged, floodgate.EUnauthenticated, "invalid"},
		{`{"session":"` + session + `"`, session, floodgate.EInvalid, ""},
		{`{"session":"` + session + `","extra":1}`, "", floodgate.EInvalid, ""},
	} {
		if a := h.order(t, c.body, c.cookie); a.code != c.code || !strings.Contains(a.msg, c.msg) {
			t.Fatalf("order with %.40s… and the cookie %.12q: %d %s; want %s", c.body, c.cookie, a.status, a.body, c.code)
		}
	}
	var first floodgate.Order
	for i, c := range []struct{ body, cookie string }{
		{` { "session" : "` + session + `" } `, ""},
		{`{"session":"` + session + `"}`, ""},
		{`{"session":""}`, session},
		{`{}`, session},
		{`{"session":"` + session + `"}`, forged},
	} {
		a, want := h.order(t, c.body, c.cookie), http.StatusOK
		if i == 0 {
			want = http.StatusCreated
		}
		var o floodgate.Order
		if err := json.Unmarshal([]byte(a.body), &o); err != nil || a.status != want || o.Customer != "grace@example.com" || i > 0 && o.ID != first.ID {
			t.Fatalf("order %d with %.40s… and the cookie %.12q: %d %s", i, c.body, c.cookie, a.status, a.body)
		}
		first = o
	}
}

// counter is the value of the counter name in reg.
func counter(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	return testkit.Metric(tb, reg, name).GetCounter().GetValue()
}

// joinAndHold joins drop's queue on the server at url and takes a hold of
// one unit as soon as the ticket is admitted.
func joinAndHold(t *testing.T, url, drop string) (ticket, holdID string) {
	t.Helper()
	a := call(t, "POST", url+"/api/v1/drops/"+drop+"/queue", "", "")
	var joined struct{ Ticket string }
	if err := json.Unmarshal([]byte(a.body), &joined); a.status != http.StatusCreated || err != nil {
		t.Fatalf("join: %d %s", a.status, a.body)
	}
	var hold struct{ ID string }
	testkit.WaitFor(t, "a hold taken", func() bool {
		a = call(t, "POST", url+"/api/v1/drops/"+drop+"/holds", joined.Ticket, `{"quantity":1}`)
		return a.status == http.StatusCreated && json.Unmarshal([]byte(a.body), &hold) == nil
	})
	return joined.Ticket, hold.ID
}
