package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
)

// The scoping walk: every route the server registers is either public or an
// admin route with an entry below, and every admin route is called with the
// root token, no token, a revoked key, and the owner, operator and viewer
// keys of two tenants, on objects of the first tenant. The answers must be:
//
//   - no token, a wrong token or a revoked key: 401 unauthenticated;
//   - the root token: not 401, 403 nor 404;
//   - a key of the first tenant: 403 forbidden when its role is below the
//     route's access, else not 401, 403 nor 404;
//   - a key of the second tenant: 403 when its role is below the route's
//     access, else 404 not_found for a route about one object (so ids do not
//     leak), and not 401, 403 nor 404 for a route about the caller's own
//     collection.
//
// A route added without an entry here fails the test: decide who may call
// it and how it is scoped, then add it.

const scopeRoot = "scope-root-token-0123456789"

// scopeRoute says how one admin route is scoped.
type scopeRoute struct {
	access floodgate.Access
	// object: the route is about one object named in its path, which the
	// walk fills with the first tenant's; the second tenant gets 404.
	object bool
	// body is sent with the request.
	body string
	// rootMay404: the walk names no real object, so the root token may
	// get 404.
	rootMay404 bool
}

// publicRoutes are the routes that need no admin token (tickets, sessions
// and public reads check their own credentials).
var publicRoutes = map[string]bool{
	"GET /healthz":                       true,
	"GET /.well-known/jwks.json":         true,
	"GET /api/v1/drops":                  true,
	"GET /api/v1/drops/{drop}":           true,
	"POST /api/v1/drops/{drop}/queue":    true,
	"GET /api/v1/drops/{drop}/queue":     true,
	"GET /api/v1/drops/{drop}/me":        true,
	"GET /api/v1/drops/{drop}/admission": true,
	"POST /api/v1/session":               true,
	"POST /logout":                       true, // ends the buyer's own session
	"POST /api/v1/drops/{drop}/holds":    true,
	"GET /api/v1/holds/{hold}":           true,
	"DELETE /api/v1/holds/{hold}":        true,
	"POST /api/v1/holds/{hold}/order":    true,
	// Fairness you can check: public reads, and draw entries with a session.
	"GET /api/v1/drops/{drop}/fairness":        true,
	"GET /api/v1/drops/{drop}/log/head":        true,
	"GET /api/v1/drops/{drop}/log/heads":       true,
	"GET /api/v1/drops/{drop}/log/entries":     true,
	"GET /api/v1/drops/{drop}/log/proof":       true,
	"GET /api/v1/drops/{drop}/log/consistency": true,
	"POST /api/v1/drops/{drop}/entries":        true,
	"GET /api/v1/drops/{drop}/entries/me":      true,
	"GET /openapi.yaml":                        true,
	"/api/":                                    true, // unrouted API paths: 404 in the error shape
	"/":                                        true, // the buyer pages
	"/admin/":                                  true, // the operator console signs in with its own form
	// The status page's public routes.
	"GET /status":                                true,
	"GET /history.atom":                          true,
	"GET /api/v2/summary.json":                   true,
	"GET /api/v2/status.json":                    true,
	"GET /api/v2/incidents.json":                 true,
	"GET /api/v2/incidents/unresolved.json":      true,
	"GET /api/v2/components.json":                true,
	"GET /api/v2/scheduled-maintenances.json":    true,
	"GET /api/v1/banner":                         true,
	"GET /api/v1/unsubscribe/{token}":            true,
	"POST /api/v1/unsubscribe/{token}":           true,
	"POST /api/v1/subscriptions":                 true,
	"GET /api/v1/subscriptions/confirm/{token}":  true,
	"POST /api/v1/subscriptions/confirm/{token}": true,
	"GET /api/v1/incidents":                      true,
	"GET /api/v1/incidents/{id}":                 true,
	"GET /api/v2/uptime.json":                    true,
	"GET /status/widget.js":                      true,
	"GET /status/badge.svg":                      true,
}

// adminRoutes holds every admin route of the server.
var adminRoutes = map[string]scopeRoute{
	"POST /api/v1/drops":                  {access: floodgate.AccessOperate, body: `{"id":"walk-new","name":"New","stock":1}`},
	"GET /api/v1/drops/{drop}/orders":     {access: floodgate.AccessRead, object: true},
	"POST /api/v1/drops/{drop}/close":     {access: floodgate.AccessOperate, object: true},
	"POST /api/v1/drops/{drop}/pause":     {access: floodgate.AccessOperate, object: true},
	"POST /api/v1/drops/{drop}/resume":    {access: floodgate.AccessOperate, object: true},
	"PATCH /api/v1/drops/{drop}":          {access: floodgate.AccessOperate, object: true, body: `{"name":"Renamed"}`},
	"GET /api/v1/audit":                   {access: floodgate.AccessRead},
	"GET /api/v1/drops/{drop}/report":     {access: floodgate.AccessRead, object: true},
	"GET /api/v1/drops/{drop}/orders.csv": {access: floodgate.AccessRead, object: true},
	"GET /api/v1/cluster":                 {access: floodgate.AccessRoot},
	"GET /metrics":                        {access: floodgate.AccessRoot},
	"POST /api/v1/cluster/join":           {access: floodgate.AccessRoot, body: `{"id":"n9","raft_addr":"127.0.0.1:1","http_addr":"http://127.0.0.1:1"}`},
	"PUT /api/v1/cluster/nodes/{id}":      {access: floodgate.AccessRoot, body: `{"http_addr":"http://127.0.0.1:1"}`},
	"DELETE /api/v1/cluster/nodes/{id}":   {access: floodgate.AccessRoot},
	"POST /api/v1/tenants":                {access: floodgate.AccessRoot, body: `{"id":"walk-t","name":"T","max_drops":1}`},
	"GET /api/v1/tenants":                 {access: floodgate.AccessRead},
	"PATCH /api/v1/tenants/{id}":          {access: floodgate.AccessRoot, body: `{"max_drops":60}`},
	"POST /api/v1/tenants/{id}/keys":      {access: floodgate.AccessOwn, object: true, body: `{"role":"viewer"}`},
	"GET /api/v1/tenants/{id}/keys":       {access: floodgate.AccessOwn, object: true},
	"DELETE /api/v1/keys/{key_id}":        {access: floodgate.AccessOwn, object: true},

	"POST /api/v1/orders/{id}/paid":   {access: floodgate.AccessOperate, object: true},
	"POST /api/v1/orders/{id}/cancel": {access: floodgate.AccessOperate, object: true},
	"GET /api/v1/events":              {access: floodgate.AccessRead},
	"POST /api/v1/sinks":              {access: floodgate.AccessOwn, body: `{"kind":"webhook","url":"https://shop.example/hook","secret":"a-16-char-secret"}`},
	"GET /api/v1/sinks":               {access: floodgate.AccessRead},
	"GET /api/v1/sinks/{id}":          {access: floodgate.AccessRead, object: true},
	"DELETE /api/v1/sinks/{id}":       {access: floodgate.AccessOwn, object: true},
	"POST /api/v1/sinks/{id}/retry":   {access: floodgate.AccessOwn, object: true},

	// The status page (package status): the platform's, except the buyers
	// an incident affected, which a tenant reads for its own drops.
	"POST /api/v1/incidents":                  {access: floodgate.AccessRoot, body: `{"name":"Walk","status":"investigating","impact":"none","message":"m","components":[]}`},
	"PATCH /api/v1/incidents/{id}":            {access: floodgate.AccessRoot, body: `{"name":"Checkout is slow"}`},
	"POST /api/v1/incidents/{id}/updates":     {access: floodgate.AccessRoot, body: `{"status":"investigating","message":"Still looking."}`},
	"GET /api/v1/incidents/{id}/affected":     {access: floodgate.AccessRead},
	"GET /api/v1/incidents/{id}/affected.csv": {access: floodgate.AccessRead},
	"POST /api/v1/subscribers":                {access: floodgate.AccessRoot, body: `{"channel":"webhook","target":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}`},
	"GET /api/v1/subscribers":                 {access: floodgate.AccessRoot},
	"DELETE /api/v1/subscribers/{id}":         {access: floodgate.AccessRoot, rootMay404: true},
	"POST /api/v1/maintenances":               {access: floodgate.AccessRoot, body: `{}`},
	"GET /api/v1/maintenances":                {access: floodgate.AccessRoot},
	"POST /api/v1/maintenances/{id}/complete": {access: floodgate.AccessRoot, rootMay404: true},
	"GET /api/v1/deliveries":                  {access: floodgate.AccessRoot},
	"POST /api/v1/incidents/{id}/postmortem":  {access: floodgate.AccessRoot, body: `{"summary":"What happened."}`},
	"PUT /api/v1/component-groups/{id}":       {access: floodgate.AccessRoot, body: `{"name":"Shop"}`},
	"DELETE /api/v1/component-groups/{id}":    {access: floodgate.AccessRoot, rootMay404: true},
}

// scopeEnv is a real single-node store with the API in front of it.
type scopeEnv struct {
	t    *testing.T
	url  string
	srv  *fhttp.Server
	st   *store.Store
	keys map[string]string // "a/owner" → key
	// order and sink are objects of tenant a.
	order, sink string
	// The status page, mounted as floodgate serve mounts it, and an
	// incident on it.
	status   *status.Service
	incident string
	orderAt  int64 // unix ms of the order
}

func newScopeEnv(t *testing.T) *scopeEnv {
	t.Helper()
	t.Setenv("LOG_LEVEL", "error")
	quiet := slog.New(slog.DiscardHandler)
	st := leaderStore(t)
	svc, err := status.Open(status.Config{DataDir: t.TempDir(), AdminToken: scopeRoot, Dev: true, Logger: quiet,
		Vouched: fhttp.VouchedAdmin, Caller: fhttp.ResolveCaller})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	svc.SetAffectedSource(storeBuyers{st})
	srv := fhttp.New(fhttp.Config{
		Store: st, Queue: queue.New(queue.Config{Store: st, Logger: quiet}),
		Sessions: identity.NewSessions(nil, time.Hour), AdminToken: scopeRoot,
		Status: svc.Handler(), StatusPaths: status.Paths,
		RequestRate: 10000, RequestBurst: 10000, Logger: quiet,
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &scopeEnv{t: t, url: hs.URL, srv: srv, st: st, keys: map[string]string{}, status: svc}
	var inc struct{ ID string }
	e.mustJSON(scopeRoot, "POST", "/api/v1/incidents", `{"name":"Checkout is slow","status":"investigating","impact":"minor","message":"Orders take long.","components":[]}`, &inc)
	e.incident = inc.ID
	for _, tenant := range []string{"a", "b"} {
		e.mustDo(scopeRoot, "POST", "/api/v1/tenants", `{"id":"`+tenant+`","name":"Maker `+tenant+`","max_drops":50,"max_admit_per_second":1000}`, http.StatusCreated)
		for _, role := range []string{"owner", "operator", "viewer"} {
			e.keys[tenant+"/"+role] = e.newKey(tenant, role)
		}
		e.mustDo(e.keys[tenant+"/operator"], "POST", "/api/v1/drops", `{"id":"drop-`+tenant+`","name":"Drop `+tenant+`","stock":5}`, http.StatusCreated)
	}
	revoked := e.newKey("a", "owner")
	e.mustDo(scopeRoot, "DELETE", "/api/v1/keys/"+revoked[:strings.LastIndexByte(revoked, '_')], "", http.StatusNoContent)
	e.keys["revoked"] = revoked
	e.mustDo(scopeRoot, "POST", "/api/v1/drops", `{"id":"drop-root","name":"Drop of the platform","stock":5}`, http.StatusCreated)
	e.order = e.newOrder("drop-a")
	e.sink = e.newSink("a")
	return e
}

// storeBuyers reads affected buyers from the sale state, as floodgate
// serve does.
type storeBuyers struct{ st *store.Store }

func (b storeBuyers) Affected(from, to time.Time) ([]status.Buyer, error) {
	return b.AffectedOf("", from, to)
}

func (b storeBuyers) AffectedOf(tenant string, from, to time.Time) ([]status.Buyer, error) {
	out := []status.Buyer{}
	b.st.Read(func(s *sale.State) {
		for _, x := range s.AffectedOf(tenant, from.UnixMilli(), to.UnixMilli()) {
			out = append(out, status.Buyer{Customer: x.Customer, Email: x.Email})
		}
	})
	return out, nil
}

// newOrder makes an order in drop through the state machine's commands:
// start and admission by ticks, a hold, the order.
func (e *scopeEnv) newOrder(drop string) string {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UnixMilli()
	for _, c := range []sale.Command{
		{Kind: sale.KindTick, Now: now},
		{Kind: sale.KindReserveBlock, Now: now, Drop: drop, Size: 10},
		{Kind: sale.KindTick, Now: now + 1000, Issued: []sale.Issued{{Drop: drop, Late: 10}}},
		{Kind: sale.KindHold, Now: now + 1000, Drop: drop, Visitor: "walk-visitor", Seq: 0, Quantity: 1},
	} {
		if _, err := e.st.Apply(ctx, &c); err != nil {
			e.t.Fatalf("%v: %v", c.Kind, err)
		}
	}
	var hold string
	e.st.Read(func(s *sale.State) { hold = s.Tickets.Get(drop, "walk-visitor").ID })
	res, err := e.st.Apply(ctx, &sale.Command{Kind: sale.KindOrder, Now: now + 1000, HoldID: hold, Visitor: "walk-visitor", Customer: "walk@example.com", IdemKey: "walk"})
	if err != nil {
		e.t.Fatalf("order: %v", err)
	}
	e.orderAt = now + 1000
	return res.Order.ID
}

// newSink adds a webhook sink with the owner key of tenant.
func (e *scopeEnv) newSink(tenant string) string {
	var sk struct{ ID string }
	e.mustJSON(e.keys[tenant+"/owner"], "POST", "/api/v1/sinks", `{"kind":"webhook","url":"https://shop.example/hook","secret":"a-16-char-secret"}`, &sk)
	return sk.ID
}

func (e *scopeEnv) newKey(tenant, role string) string {
	var k struct{ Key string }
	e.mustJSON(scopeRoot, "POST", "/api/v1/tenants/"+tenant+"/keys", `{"role":"`+role+`"}`, &k)
	if !strings.HasPrefix(k.Key, "fgk_"+tenant+"_") {
		e.t.Fatalf("key %q lacks its visible prefix", k.Key)
	}
	return k.Key
}

func (e *scopeEnv) do(token, method, path, body string) (int, []byte) {
	e.t.Helper()
	hdr := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, err := client.New(e.url).Do(context.Background(), method, path, hdr, b)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Status, resp.Body
}

func (e *scopeEnv) mustDo(token, method, path, body string, want int) []byte {
	e.t.Helper()
	got, b := e.do(token, method, path, body)
	if got != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, got, b, want)
	}
	return b
}

func (e *scopeEnv) mustJSON(token, method, path, body string, v any) {
	e.t.Helper()
	got, b := e.do(token, method, path, body)
	if got/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, got, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

// path fills the pattern's parameters with objects of tenant a.
func (e *scopeEnv) path(pattern string) string {
	_, p, _ := strings.Cut(pattern, " ")
	switch {
	case strings.HasPrefix(p, "/api/v1/tenants/"):
		p = strings.ReplaceAll(p, "{id}", "a")
	case strings.HasPrefix(p, "/api/v1/cluster/"):
		p = strings.ReplaceAll(p, "{id}", "n9")
	case strings.HasPrefix(p, "/api/v1/orders/"):
		p = strings.ReplaceAll(p, "{id}", e.order)
	case strings.HasPrefix(pattern, "DELETE /api/v1/sinks/"):
		// A fresh sink of a for every call: the walk deletes it.
		p = strings.ReplaceAll(p, "{id}", e.newSink("a"))
	case strings.HasPrefix(p, "/api/v1/sinks/"):
		p = strings.ReplaceAll(p, "{id}", e.sink)
	case strings.HasPrefix(p, "/api/v1/incidents/"):
		p = strings.ReplaceAll(p, "{id}", e.incident)
	case strings.HasPrefix(p, "/api/v1/subscribers/"), strings.HasPrefix(p, "/api/v1/maintenances/"), strings.HasPrefix(p, "/api/v1/component-groups/"):
		p = strings.ReplaceAll(p, "{id}", "none") // rootMay404
	}
	if strings.Contains(p, "{key_id}") {
		// A fresh key of a for every call: the walk revokes it.
		k := e.newKey("a", "viewer")
		p = strings.ReplaceAll(p, "{key_id}", k[:strings.LastIndexByte(k, '_')])
	}
	p = strings.ReplaceAll(p, "{drop}", "drop-a")
	if strings.Contains(p, "{") {
		e.t.Fatalf("route %s: the walk does not know how to fill %s; teach scopeEnv.path", pattern, p)
	}
	return p
}

var roleOf = map[string]string{"owner": floodgate.RoleOwner, "operator": floodgate.RoleOperator, "viewer": floodgate.RoleViewer}

func TestEveryAdminRouteIsScoped(t *testing.T) {
	e := newScopeEnv(t)
	routes := e.srv.Routes()
	if len(routes) < 20 {
		t.Fatalf("the router lists only %d routes", len(routes))
	}
	// The status page is mounted under its paths; walk its own routes.
	routes = append(routes, e.status.Routes()...)
	seen := map[string]bool{}
	for _, pattern := range routes {
		seen[pattern] = true
		if slices.Contains(status.Paths, pattern) {
			continue // a mount point of the status page
		}
		if publicRoutes[pattern] {
			if _, both := adminRoutes[pattern]; both {
				t.Errorf("%s is listed as public and as admin", pattern)
			}
			continue
		}
		rt, ok := adminRoutes[pattern]
		if !ok {
			t.Errorf("route %s has no entry in adminRoutes nor publicRoutes (http/scope_test.go): decide its access and scoping, then add it", pattern)
			continue
		}
		method, _, _ := strings.Cut(pattern, " ")
		type caller struct {
			name, token string
			want        func(status int) bool
			wantText    string
		}
		ok2xx := func(s int) bool { return s != 401 && s != 403 && s != 404 && s < 500 }
		is := func(want int) func(int) bool { return func(s int) bool { return s == want } }
		callers := []caller{
			{"no token", "", is(401), "401"},
			{"a wrong token", "fgk_a_0123456789ab_" + strings.Repeat("0", 48), is(401), "401"},
			{"a revoked key", e.keys["revoked"], is(401), "401"},
			{"root", scopeRoot, ok2xx, "allowed"},
		}
		if rt.rootMay404 {
			callers[3].want = func(s int) bool { return s != 401 && s != 403 && s < 500 }
		}
		for _, tenant := range []string{"a", "b"} {
			for _, role := range []string{"owner", "operator", "viewer"} {
				c := floodgate.Caller{Tenant: tenant, Role: roleOf[role]}
				cl := caller{name: tenant + "/" + role, token: e.keys[tenant+"/"+role]}
				switch {
				case !c.Allows(rt.access):
					cl.want, cl.wantText = is(403), "403"
				case tenant == "b" && rt.object:
					cl.want, cl.wantText = is(404), "404"
				default:
					cl.want, cl.wantText = ok2xx, "allowed"
				}
				callers = append(callers, cl)
			}
		}
		for _, c := range callers {
			// Creations get a fresh id per caller, so each is a new one.
			body := strings.Replace(rt.body, `"id":"walk-`, `"id":"walk-`+strings.NewReplacer("/", "-", " ", "-").Replace(c.name)+"-", 1)
			status, b := e.do(c.token, method, e.path(pattern), body)
			if !c.want(status) {
				t.Errorf("%s with %s: %d %s, want %s", pattern, c.name, status, bytes.TrimSpace(b), c.wantText)
				continue
			}
			if status >= 400 {
				var eb struct {
					Error struct{ Code, Message string }
				}
				if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" || eb.Error.Message == "" {
					t.Errorf("%s with %s: %d without the error shape: %s", pattern, c.name, status, b)
				}
			}
		}
	}
	var stale []string
	for p := range adminRoutes {
		if !seen[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(stale)
	for _, p := range stale {
		t.Errorf("adminRoutes lists %s, which the server does not register", p)
	}
}

// TestTenantListsShowOnlyTheirOwn checks what the collections show to each
// caller: tenants, keys and orders of another tenant never appear.
func TestTenantListsShowOnlyTheirOwn(t *testing.T) {
	e := newScopeEnv(t)
	var tl struct{ Tenants []struct{ ID string } }
	e.mustJSON(e.keys["b/viewer"], "GET", "/api/v1/tenants", "", &tl)
	if len(tl.Tenants) != 1 || tl.Tenants[0].ID != "b" {
		t.Errorf("tenant b's viewer sees tenants %+v, want only b", tl.Tenants)
	}
	e.mustJSON(scopeRoot, "GET", "/api/v1/tenants", "", &tl)
	if len(tl.Tenants) != 2 {
		t.Errorf("root sees tenants %+v, want a and b", tl.Tenants)
	}
	var kl struct {
		Keys []struct {
			ID, Tenant string
			Key        *string
		}
	}
	e.mustJSON(e.keys["b/owner"], "GET", "/api/v1/tenants/b/keys", "", &kl)
	if len(kl.Keys) != 3 {
		t.Errorf("tenant b has %d keys listed, want 3", len(kl.Keys))
	}
	for _, k := range kl.Keys {
		if k.Tenant != "b" || !strings.HasPrefix(k.ID, "fgk_b_") || k.Key != nil {
			t.Errorf("tenant b's key list shows %+v", k)
		}
	}
	// The audit log: a tenant sees the changes to its own drops (made with
	// its keys or the root token), named by key id; never another's.
	e.mustDo(e.keys["a/operator"], "POST", "/api/v1/drops/drop-a/pause", "", http.StatusOK)
	e.mustDo(scopeRoot, "POST", "/api/v1/drops/drop-a/resume", "", http.StatusOK)
	e.mustDo(e.keys["b/operator"], "POST", "/api/v1/drops/drop-b/pause", "", http.StatusOK)
	e.mustDo(scopeRoot, "POST", "/api/v1/drops/drop-root/pause", "", http.StatusOK)
	// Over the tenant's admission cap, a change is refused like a creation.
	e.mustDo(e.keys["a/operator"], "PATCH", "/api/v1/drops/drop-a", `{"admit_per_second":1001}`, http.StatusConflict)
	type entry struct{ Actor, Tenant, Action, Target string }
	audit := func(token string) map[string]entry {
		var al struct{ Entries []entry }
		e.mustJSON(token, "GET", "/api/v1/audit", "", &al)
		out := map[string]entry{}
		for _, en := range al.Entries {
			out[en.Target+" "+en.Action] = en
		}
		return out
	}
	opA := e.keys["a/operator"]
	for k, en := range audit(e.keys["a/viewer"]) {
		if en.Tenant != "a" || strings.Contains(k, "drop-b") || strings.Contains(k, "drop-root") {
			t.Errorf("tenant a's audit log shows %s: %+v", k, en)
		}
	}
	a := audit(e.keys["a/viewer"])
	if en, ok := a["drop-a drop.pause"]; !ok || en.Actor != opA[:strings.LastIndexByte(opA, '_')] {
		t.Errorf("tenant a's audit log: pause of drop-a is %+v (present %v), want actor %s", en, ok, opA[:strings.LastIndexByte(opA, '_')])
	}
	if en, ok := a["drop-a drop.resume"]; !ok || en.Actor != "root" {
		t.Errorf("tenant a's audit log: the root's resume of drop-a is %+v (present %v)", en, ok)
	}
	if all := audit(scopeRoot); len(all) < 4 {
		t.Errorf("root sees %d audit entries, want every one (4 or more)", len(all))
	}

	// The buyers an incident affected: each tenant sees those of its drops.
	// (The walk's order is stamped a second ahead, to be admitted.)
	time.Sleep(time.Until(time.UnixMilli(e.orderAt + 1)))
	for token, want := range map[string]int{scopeRoot: 1, e.keys["a/viewer"]: 1, e.keys["b/owner"]: 0} {
		var al struct{ Buyers []struct{ Customer string } }
		e.mustJSON(token, "GET", "/api/v1/incidents/"+e.incident+"/affected", "", &al)
		if len(al.Buyers) != want || want == 1 && al.Buyers[0].Customer != "walk@example.com" {
			t.Errorf("affected buyers for %.8s…: %+v, want %d", token, al.Buyers, want)
		}
	}
	if b := e.mustDo(e.keys["b/owner"], "GET", "/api/v1/incidents/"+e.incident+"/affected.csv", "", http.StatusOK); strings.Contains(string(b), "walk@") {
		t.Errorf("tenant b's affected.csv lists a's buyer: %s", b)
	}

	// The platform's drop is not a tenant's either.
	e.mustDo(e.keys["a/owner"], "GET", "/api/v1/drops/drop-root/orders", "", http.StatusNotFound)
	e.mustDo(e.keys["a/owner"], "POST", "/api/v1/drops/drop-root/close", "", http.StatusNotFound)
	// A drop id of another tenant cannot be taken over by creating it.
	e.mustDo(e.keys["b/owner"], "POST", "/api/v1/drops", `{"id":"drop-a","name":"Drop a","stock":5}`, http.StatusConflict)
}

func TestTenantQuota(t *testing.T) {
	e := newScopeEnv(t)
	e.mustDo(scopeRoot, "POST", "/api/v1/tenants", `{"id":"small","name":"Small","max_drops":1,"max_admit_per_second":50}`, http.StatusCreated)
	op := e.newKey("small", "operator")
	e.mustDo(op, "POST", "/api/v1/drops", `{"id":"s1","name":"One","stock":5,"admit_per_second":51}`, http.StatusConflict)
	e.mustDo(op, "POST", "/api/v1/drops", `{"id":"s1","name":"One","stock":5,"admit_per_second":50}`, http.StatusCreated)
	// The same request again is a replay, not a second drop.
	e.mustDo(op, "POST", "/api/v1/drops", `{"id":"s1","name":"One","stock":5,"admit_per_second":50}`, http.StatusOK)
	b := e.mustDo(op, "POST", "/api/v1/drops", `{"id":"s2","name":"Two","stock":5,"admit_per_second":50}`, http.StatusConflict)
	if !bytes.Contains(b, []byte(`"quota_exceeded"`)) {
		t.Errorf("over max_drops: %s, want quota_exceeded", b)
	}
	// The root token is not bound by a tenant's quota.
	e.mustDo(scopeRoot, "POST", "/api/v1/drops", `{"id":"s3","name":"Three","stock":5,"admit_per_second":5000}`, http.StatusCreated)
	// The platform raises the quota; a tenant's own key cannot.
	e.mustDo(e.keys["a/owner"], "PATCH", "/api/v1/tenants/small", `{"max_drops":2}`, http.StatusForbidden)
	e.mustDo(op, "PATCH", "/api/v1/tenants/small", `{"max_drops":2}`, http.StatusForbidden)
	var tv struct {
		MaxDrops int64  `json:"max_drops"`
		Drops    int64  `json:"drops"`
		Accent   string `json:"accent"`
		Name     string `json:"name"`
	}
	e.mustJSON(scopeRoot, "PATCH", "/api/v1/tenants/small", `{"max_drops":2,"accent":"#AABBCC"}`, &tv)
	if tv.MaxDrops != 2 || tv.Drops != 1 || tv.Accent != "#aabbcc" || tv.Name != "Small" {
		t.Errorf("tenant after PATCH: %+v", tv)
	}
	e.mustDo(op, "POST", "/api/v1/drops", `{"id":"s2","name":"Two","stock":5,"admit_per_second":50}`, http.StatusCreated)
	e.mustDo(scopeRoot, "PATCH", "/api/v1/tenants/small", `{"logo_url":"http://insecure.example/x.png"}`, http.StatusBadRequest)
	e.mustDo(scopeRoot, "PATCH", "/api/v1/tenants/nobody", `{"max_drops":2}`, http.StatusNotFound)
	e.mustDo(scopeRoot, "PATCH", "/api/v1/tenants/small", `{"id":"other"}`, http.StatusBadRequest)
	// Bad tenants are refused with a reason.
	for _, body := range []string{
		`{"id":"x","name":"X"}`,
		`{"id":"x","name":"X","max_drops":1,"logo_url":"http://cdn.example.com/x.png"}`,
		`{"id":"x","name":"X","max_drops":1,"logo_url":"javascript:alert(1)"}`,
		`{"id":"x","name":"X","max_drops":1,"accent":"red;background:url(//evil)"}`,
		`{"id":"X Y","name":"X","max_drops":1}`,
		`{"id":"x","name":"X","max_drops":1,"owner":"me"}`,
	} {
		e.mustDo(scopeRoot, "POST", "/api/v1/tenants", body, http.StatusBadRequest)
	}
	e.mustDo(scopeRoot, "POST", "/api/v1/tenants/small/keys", `{"role":"admin"}`, http.StatusBadRequest)
	e.mustDo(scopeRoot, "POST", "/api/v1/tenants/nobody/keys", `{"role":"owner"}`, http.StatusNotFound)
}
