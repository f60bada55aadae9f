package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/testkit"
)

// snapshot is everything the API shows about the sale: the drops with their
// counters and every drop's orders.
func snapshot(t *testing.T, n *testkit.Node) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drops, err := n.Drops(ctx)
	if err != nil {
		t.Fatalf("list drops: %v", err)
	}
	all := map[string]any{"drops": drops}
	for _, d := range drops {
		// Each answer signs its receipts anew: what they sign is compared.
		orders := n.MustOrders(t, d.ID)
		for i, o := range orders {
			orders[i] = testkit.Unsigned(o)
		}
		all["orders/"+d.ID] = orders
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// forge returns tickets the server must refuse, made from a real one: with
// a changed payload and the old signature, signed by another key, and
// unsigned (alg none).
func forge(t *testing.T, real string) map[string]string {
	t.Helper()
	var claims map[string]any
	testkit.MustClaims(t, real, &claims)
	parts := strings.Split(real, ".")
	claims["vid"] = "someone-else"
	changed, _ := json.Marshal(claims)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	otherSigned, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(claims)).SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"garbage":          "not-a-ticket",
		"changed payload":  parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2],
		"cut signature":    parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4],
		"other key":        otherSigned,
		"unsigned":         none,
		"huge":             strings.Repeat("a", 5000),
		"three dots":       "...",
		"header only JSON": parts[0],
	}
}

// TestBadInputGetsDocumentedErrors sends wrong, forged, oversized and
// conflicting requests to a real node. Each must get the documented status
// and error shape {"error":{"code","message"}}, and none may change
// anything the API shows.
func TestBadInputGetsDocumentedErrors(t *testing.T) {
	t.Parallel()
	n := testkit.StartNode(t, testkit.Options{})
	const drop = "bad"
	base := testkit.DropRequest{ID: drop, Name: "Bad", Stock: 5, PerCustomerLimit: 1, HoldSeconds: 300}
	n.MustCreateDrop(t, base)
	n.MustCreateDrop(t, testkit.DropRequest{ID: "other", Name: "Other", Stock: 5})
	later := time.Now().Add(time.Hour).UTC()
	n.MustCreateDrop(t, testkit.DropRequest{ID: "later", Name: "Later", Stock: 5, StartsAt: &later})

	// A bought hold (A), an active hold (B), a ticket for another drop and a
	// ticket still waiting.
	a := n.MustJoin(t, drop)
	n.MustWaitAdmitted(t, drop, a.Ticket)
	holdA := n.MustHold(t, drop, a.Ticket, 1)
	sessA := n.MustSession(t, "a@example.com")
	n.MustOrder(t, holdA.ID, a.Ticket, sessA, "key-A")
	b := n.MustJoin(t, drop)
	n.MustWaitAdmitted(t, drop, b.Ticket)
	holdB := n.MustHold(t, drop, b.Ticket, 1)
	sessB := n.MustSession(t, "b@example.com")
	otherTicket := n.MustJoin(t, "other").Ticket
	n.MustWaitAdmitted(t, "other", otherTicket)
	waiting := n.MustJoin(t, "later").Ticket

	orderHdr := func(ticket, key string) http.Header {
		h := testkit.Bearer(ticket)
		if key != "" {
			h.Set("Idempotency-Key", key)
		}
		return h
	}
	admin := testkit.Bearer(n.AdminToken)
	big := []byte(`{"id":"big","name":"` + strings.Repeat("x", api.MaxBody) + `","stock":1}`)
	dropBody := func(extra string) []byte {
		return []byte(`{"id":"new-drop","name":"New","stock":5` + extra + `}`)
	}
	sessionBody := func(s string) []byte { return []byte(`{"session":"` + s + `"}`) }

	type tc struct {
		name   string
		method string
		path   string
		hdr    http.Header
		body   []byte
		status int
		code   string
	}
	cases := []tc{
		{"create drop without admin token", "POST", "/api/v1/drops", nil, dropBody(""), 401, floodgate.EUnauthenticated},
		{"create drop with a wrong admin token", "POST", "/api/v1/drops", testkit.Bearer("nope"), dropBody(""), 401, floodgate.EUnauthenticated},
		{"orders without admin token", "GET", "/api/v1/drops/bad/orders", nil, nil, 401, floodgate.EUnauthenticated},
		{"orders with a ticket as admin token", "GET", "/api/v1/drops/bad/orders", testkit.Bearer(a.Ticket), nil, 401, floodgate.EUnauthenticated},
		{"unknown field", "POST", "/api/v1/drops", admin, dropBody(`,"colour":"red"`), 400, floodgate.EInvalid},
		{"stock as a string", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":"5"}`), 400, floodgate.EInvalid},
		{"stock 0", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":0}`), 400, floodgate.EInvalid},
		{"negative stock", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":-5}`), 400, floodgate.EInvalid},
		{"stock over 10^9", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":1000000001}`), 400, floodgate.EInvalid},
		{"stock beyond int64", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":99999999999999999999}`), 400, floodgate.EInvalid},
		{"fractional stock", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New","stock":1.5}`), 400, floodgate.EInvalid},
		{"no stock", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":"New"}`), 400, floodgate.EInvalid},
		{"no id", "POST", "/api/v1/drops", admin, []byte(`{"name":"New","stock":5}`), 400, floodgate.EInvalid},
		{"bad id", "POST", "/api/v1/drops", admin, []byte(`{"id":"New Drop!","name":"New","stock":5}`), 400, floodgate.EInvalid},
		{"limit 0", "POST", "/api/v1/drops", admin, dropBody(`,"per_customer_limit":0`), 400, floodgate.EInvalid},
		{"limit over stock", "POST", "/api/v1/drops", admin, dropBody(`,"per_customer_limit":6`), 400, floodgate.EInvalid},
		{"negative price", "POST", "/api/v1/drops", admin, dropBody(`,"price":-1`), 400, floodgate.EInvalid},
		{"hold_seconds 1", "POST", "/api/v1/drops", admin, dropBody(`,"hold_seconds":1`), 400, floodgate.EInvalid},
		{"absurd hold_seconds", "POST", "/api/v1/drops", admin, dropBody(`,"hold_seconds":9223372036854775807`), 400, floodgate.EInvalid},
		{"admit_per_second 0", "POST", "/api/v1/drops", admin, dropBody(`,"admit_per_second":0`), 400, floodgate.EInvalid},
		{"starts_at not a time", "POST", "/api/v1/drops", admin, dropBody(`,"starts_at":"tomorrow"`), 400, floodgate.EInvalid},
		{"starts_at year 0", "POST", "/api/v1/drops", admin, dropBody(`,"starts_at":"0000-01-01T00:00:00Z"`), 400, floodgate.EInvalid},
		{"voucher twice", "POST", "/api/v1/drops", admin, dropBody(`,"vouchers":["A","B","A"]`), 400, floodgate.EInvalid},
		{"vouchers not strings", "POST", "/api/v1/drops", admin, dropBody(`,"vouchers":[1,2]`), 400, floodgate.EInvalid},
		{"trailing data", "POST", "/api/v1/drops", admin, append(dropBody(""), []byte(`{}`)...), 400, floodgate.EInvalid},
		{"stock twice", "POST", "/api/v1/drops", admin, dropBody(`,"stock":7`), 400, floodgate.EInvalid},
		{"a field in another case", "POST", "/api/v1/drops", admin, dropBody(`,"Per_Customer_Limit":2`), 400, floodgate.EInvalid},
		{"quantity twice", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":1,"quantity":5}`), 400, floodgate.EInvalid},
		{"empty body", "POST", "/api/v1/drops", admin, []byte{}, 400, floodgate.EInvalid},
		{"not JSON", "POST", "/api/v1/drops", admin, []byte(`id=new-drop`), 400, floodgate.EInvalid},
		{"JSON array", "POST", "/api/v1/drops", admin, []byte(`[1,2]`), 400, floodgate.EInvalid},
		{"JSON null", "POST", "/api/v1/drops", admin, []byte(`null`), 400, floodgate.EInvalid},
		{"cut JSON", "POST", "/api/v1/drops", admin, []byte(`{"id":"new-drop","name":`), 400, floodgate.EInvalid},
		{"body over 1 MiB", "POST", "/api/v1/drops", admin, big, 413, floodgate.ETooLarge},
		{"same drop id, other body", "POST", "/api/v1/drops", admin, []byte(`{"id":"bad","name":"Bad","stock":6,"per_customer_limit":1,"hold_seconds":300}`), 409, floodgate.EConflict},

		{"hold without ticket", "POST", "/api/v1/drops/bad/holds", nil, []byte(`{"quantity":1}`), 401, floodgate.EUnauthenticated},
		{"hold with the admin token", "POST", "/api/v1/drops/bad/holds", admin, []byte(`{"quantity":1}`), 401, floodgate.EUnauthenticated},
		{"hold with another drop's ticket", "POST", "/api/v1/drops/bad/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":1}`), 403, floodgate.EForbidden},
		{"hold before admission", "POST", "/api/v1/drops/later/holds", testkit.Bearer(waiting), []byte(`{"quantity":1}`), 403, floodgate.ENotAdmitted},
		{"hold of 0", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":0}`), 400, floodgate.EInvalid},
		{"hold of -1", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":-1}`), 400, floodgate.EInvalid},
		{"hold over the limit", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":2}`), 400, floodgate.EInvalid},
		{"absurd hold", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":1e300}`), 400, floodgate.EInvalid},
		{"quantity as a string", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":"1"}`), 400, floodgate.EInvalid},
		{"hold with an unknown field", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), []byte(`{"quantity":1,"price":0}`), 400, floodgate.EInvalid},
		{"hold body over 1 MiB", "POST", "/api/v1/drops/other/holds", testkit.Bearer(otherTicket), big, 413, floodgate.ETooLarge},
		{"queue status without ticket", "GET", "/api/v1/drops/bad/queue", nil, nil, 401, floodgate.EUnauthenticated},
		{"queue status with another drop's ticket", "GET", "/api/v1/drops/bad/queue", testkit.Bearer(otherTicket), nil, 403, floodgate.EForbidden},
		{"join with an unknown field", "POST", "/api/v1/drops/bad/queue", nil, []byte(`{"position":1}`), 400, floodgate.EInvalid},
		{"join an unknown drop", "POST", "/api/v1/drops/nope/queue", nil, nil, 404, floodgate.ENotFound},
		{"unknown drop", "GET", "/api/v1/drops/nope", nil, nil, 404, floodgate.ENotFound},
		{"unknown endpoint", "GET", "/api/v1/nothing-here", nil, nil, 404, floodgate.ENotFound},

		{"order without Idempotency-Key", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, ""), sessionBody(sessB), 400, floodgate.EInvalid},
		{"order with a 201-byte key", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, strings.Repeat("k", 201)), sessionBody(sessB), 400, floodgate.EInvalid},
		{"order without session", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, "key-B"), []byte(`{}`), 401, floodgate.EUnauthenticated},
		{"order with a forged session", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, "key-B"), sessionBody("eyJzdWIiOiJ4In0.AAAA"), 401, floodgate.EUnauthenticated},
		{"order with an unknown field", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, "key-B"), []byte(`{"session":"` + sessB + `","price":0}`), 400, floodgate.EInvalid},
		{"order body over 1 MiB", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, "key-B"), big, 413, floodgate.ETooLarge},
		{"order without ticket", "POST", "/api/v1/holds/" + holdB.ID + "/order", http.Header{"Idempotency-Key": {"key-B"}}, sessionBody(sessB), 401, floodgate.EUnauthenticated},
		{"order of another ticket's hold", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(a.Ticket, "key-B"), sessionBody(sessB), 404, floodgate.ENotFound},
		{"order of an unknown hold", "POST", "/api/v1/holds/h_zz_nothing/order", orderHdr(b.Ticket, "key-B"), sessionBody(sessB), 404, floodgate.ENotFound},
		{"replayed key with another hold", "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(b.Ticket, "key-A"), sessionBody(sessA), 409, floodgate.EConflict},
		// Keys count per customer: B's "key-A" is B's own and tells nothing
		// about A's; the hold is simply ordered already.
		{"another customer's key", "POST", "/api/v1/holds/" + holdA.ID + "/order", orderHdr(a.Ticket, "key-A"), sessionBody(sessB), 409, floodgate.EAlreadyOrdered},
		{"a second order of an ordered hold", "POST", "/api/v1/holds/" + holdA.ID + "/order", orderHdr(a.Ticket, "key-A2"), sessionBody(sessA), 409, floodgate.EAlreadyOrdered},
		{"release of an ordered hold", "DELETE", "/api/v1/holds/" + holdA.ID, testkit.Bearer(a.Ticket), nil, 409, floodgate.EAlreadyOrdered},
		{"release with another ticket", "DELETE", "/api/v1/holds/" + holdB.ID, testkit.Bearer(a.Ticket), nil, 404, floodgate.ENotFound},
		{"release with another drop's ticket", "DELETE", "/api/v1/holds/" + holdB.ID, testkit.Bearer(otherTicket), nil, 403, floodgate.EForbidden},
		{"release without ticket", "DELETE", "/api/v1/holds/" + holdB.ID, nil, nil, 401, floodgate.EUnauthenticated},

		{"session with a bad email", "POST", "/api/v1/session", nil, []byte(`{"email":"not an email"}`), 400, floodgate.EInvalid},
		{"session with a display name", "POST", "/api/v1/session", nil, []byte(`{"email":"Eve <eve@example.com>"}`), 400, floodgate.EInvalid},
		{"session with an unknown field", "POST", "/api/v1/session", nil, []byte(`{"email":"a@example.com","admin":true}`), 400, floodgate.EInvalid},
		{"session body over 1 MiB", "POST", "/api/v1/session", nil, big, 413, floodgate.ETooLarge},
	}
	for name, forged := range forge(t, b.Ticket) {
		cases = append(cases,
			tc{"hold with a forged ticket: " + name, "POST", "/api/v1/drops/bad/holds", testkit.Bearer(forged), []byte(`{"quantity":1}`), 401, floodgate.EUnauthenticated},
			tc{"order with a forged ticket: " + name, "POST", "/api/v1/holds/" + holdB.ID + "/order", orderHdr(forged, "key-B"), sessionBody(sessB), 401, floodgate.EUnauthenticated},
			tc{"release with a forged ticket: " + name, "DELETE", "/api/v1/holds/" + holdB.ID, testkit.Bearer(forged), nil, 401, floodgate.EUnauthenticated},
		)
	}

	before := snapshot(t, n)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testkit.Context(t, 10*time.Second)
			resp, err := n.Do(ctx, c.method, c.path, c.hdr, c.body)
			if err != nil {
				t.Fatalf("%s %s: %v", c.method, c.path, err)
			}
			if resp.Status != c.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, resp.Status, c.status, truncate(resp.Body))
			}
			ae := testkit.ParseError(resp)
			if ae.Code != c.code {
				t.Fatalf("%s %s: body %s, want {\"error\":{\"code\":%q,\"message\":...}}", c.method, c.path, truncate(resp.Body), c.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if got := snapshot(t, n); got != before {
				t.Fatalf("the request changed the sale:\nbefore %s\nafter  %s", before, got)
			}
		})
	}

	// And the good requests still work, the same way as before.
	var d floodgate.Drop
	ctx := testkit.Context(t, 10*time.Second)
	st, err := n.Call(ctx, "POST", "/api/v1/drops", admin, base, &d)
	if err != nil || st != http.StatusOK || d.ID != drop {
		t.Errorf("the same drop again: %d %v, want 200", st, err)
	}
	o := n.MustOrder(t, holdB.ID, b.Ticket, sessB, "key-B")
	again, st, err := n.Order(ctx, holdB.ID, b.Ticket, sessB, "key-B")
	if err != nil || st != http.StatusOK || !reflect.DeepEqual(testkit.Unsigned(again), testkit.Unsigned(o)) {
		t.Errorf("the same Idempotency-Key again: %d %+v %v, want 200 with %+v", st, again, err, o)
	}
	if got := n.MustDrop(t, drop); got.Sold != 2 || got.Held != 0 || got.Available != 3 {
		t.Errorf("after two orders the drop shows %+v", got)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestHoldExpiresOverHTTP is the one slow case: a hold of a drop with
// hold_seconds=10 returns its unit after 10 s by the leader's ticks, and
// ordering it then answers 409 hold_expired. The rules of expiry are tested
// in depth in package sale; this proves the ticker drives them.
func TestHoldExpiresOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 10 s for a hold to expire")
	}
	t.Parallel()
	n := testkit.StartNode(t, testkit.Options{Tick: 50 * time.Millisecond})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "exp", Name: "Expiring", Stock: 1, HoldSeconds: 10})
	tk := n.MustJoin(t, "exp")
	n.MustWaitAdmitted(t, "exp", tk.Ticket)
	h := n.MustHold(t, "exp", tk.Ticket, 1)
	if d := n.MustDrop(t, "exp"); d.Available != 0 || d.Held != 1 {
		t.Fatalf("after the hold the drop shows %+v", d)
	}
	session := n.MustSession(t, "late@example.com")
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := n.MustDrop(t, "exp")
		if d.Available == 1 && d.Held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after a 10 s hold the drop still shows %+v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if time.Now().Before(h.ExpiresAt) {
		t.Fatalf("the unit came back before the hold's expires_at %v", h.ExpiresAt)
	}
	ctx := testkit.Context(t, 10*time.Second)
	_, _, err := n.Order(ctx, h.ID, tk.Ticket, session, "late-key")
	if testkit.Code(err) != floodgate.EHoldExpired {
		t.Fatalf("ordering an expired hold: %v, want 409 hold_expired", err)
	}
	var ae *testkit.APIError
	if errors.As(err, &ae) && ae.Status != http.StatusConflict {
		t.Fatalf("hold_expired with status %d", ae.Status)
	}
	if d := n.MustDrop(t, "exp"); d.Sold != 0 || d.Available != 1 {
		t.Fatalf("after the refused order the drop shows %+v", d)
	}
	// Another buyer can have the unit now.
	o := n.MustBuy(t, "exp", "next@example.com", "next-key")
	if o.Quantity != 1 {
		t.Fatalf("the next buyer got %+v", o)
	}
}
