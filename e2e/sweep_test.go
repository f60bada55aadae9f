package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// The sweep: every operation of docs/openapi.yaml, and every page route the
// console and the buyer's pages register, gets what a hostile client sends —
// forged and missing credentials, path segments that are not ids, broken and
// oversized bodies, garbage queries and wrong methods — against a real node.
// The route list is read from the document and the sources, so a new route
// is swept without anyone adding it here.

// sweepDoc is the part of the OpenAPI document the sweep reads.
type sweepDoc struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Parameters map[string]map[string]any `yaml:"parameters"`
		Responses  map[string]any            `yaml:"responses"`
		Schemas    struct {
			ErrorCode struct {
				Enum    []string       `yaml:"enum"`
				XStatus map[string]int `yaml:"x-status"`
			} `yaml:"ErrorCode"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

// sweepOp is one documented operation.
type sweepOp struct {
	method, path string
	params       []string         // names of the path parameters
	query        []map[string]any // the query parameters
	auth         []string         // the security schemes that work ("" for none needed)
	body         bool             // it takes a JSON body
	responses    map[string]bool  // documented statuses ("400", "default", ...)
}

func (o sweepOp) needs(scheme string) bool { return slices.Contains(o.auth, scheme) }

// public reports whether the operation can be called without credentials.
func (o sweepOp) public() bool { return len(o.auth) == 0 || slices.Contains(o.auth, "") }

var sweepMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func loadSweepDoc(t *testing.T) (sweepDoc, []sweepOp) {
	t.Helper()
	var doc sweepDoc
	if err := yaml.Unmarshal(floodgate.OpenAPI, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var ops []sweepOp
	for path, item := range doc.Paths {
		var params []string
		var query []map[string]any
		addParams := func(list any) {
			for _, p := range asList(list) {
				m := asMapOf(p)
				if ref, ok := m["$ref"].(string); ok {
					m = doc.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")]
				}
				if m["in"] == "path" && !slices.Contains(params, m["name"].(string)) {
					params = append(params, m["name"].(string))
				}
				if m["in"] == "query" {
					query = append(query, m)
				}
			}
		}
		addParams(item["parameters"])
		for _, m := range sweepMethods {
			raw, ok := item[strings.ToLower(m)]
			if !ok {
				continue
			}
			op := asMapOf(raw)
			o := sweepOp{method: m, path: path, responses: map[string]bool{}}
			before, beforeQuery := params, query
			addParams(op["parameters"])
			o.params, params = params, before
			o.query, query = query, beforeQuery
			if sec, ok := op["security"]; ok {
				for _, req := range asList(sec) {
					if len(asMapOf(req)) == 0 {
						o.auth = append(o.auth, "")
					}
					for name := range asMapOf(req) {
						o.auth = append(o.auth, name)
					}
				}
			}
			if rb, ok := op["requestBody"]; ok {
				_, o.body = asMapOf(asMapOf(rb)["content"])["application/json"]
			}
			for code := range asMapOf(op["responses"]) {
				o.responses[code] = true
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	if len(ops) < 60 {
		t.Fatalf("read only %d operations from docs/openapi.yaml", len(ops))
	}
	return doc, ops
}

func asMapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any           { l, _ := v.([]any); return l }

// pageRoutes are the routes of the console and the buyer's pages, which are
// HTML and not in the API document, read from their registrations.
func pageRoutes(t *testing.T) []sweepOp {
	t.Helper()
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	reg := regexp.MustCompile(`mux\.Handle(?:Func)?\("(?:([A-Z]+) )?([^"]+)"`)
	var ops []sweepOp
	for _, f := range []string{"console/console.go", "web/web.go"} {
		src, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range reg.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasPrefix(m[2], "/") {
				continue // a pattern built from a constant
			}
			path := strings.TrimSuffix(m[2], "{$}")
			var params []string
			for _, p := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(path, -1) {
				params = append(params, p[1])
			}
			method := m[1]
			if method == "" {
				method = "GET"
			}
			ops = append(ops, sweepOp{method: method, path: path, params: params, auth: []string{"page"}})
		}
	}
	if len(ops) < 20 {
		t.Fatalf("read only %d page routes from console/console.go and web/web.go", len(ops))
	}
	return ops
}

// sweepCase is one hostile request and what may answer it.
type sweepCase struct {
	name   string
	op     sweepOp
	method string
	path   string // with the query
	hdr    http.Header
	body   []byte
	stream bool // the body is sent in part and then withheld: the answer must come first
	// want is the exact status wanted (0: any 4xx; -1: any 2xx or 4xx).
	want int
}

// blockedBody sends head, then nothing until closed: a server that waits
// for the whole body never answers.
type blockedBody struct {
	head *bytes.Reader
	ctx  context.Context // the request's: the client gives up with it
	done chan struct{}
	once sync.Once
}

func (b *blockedBody) Read(p []byte) (int, error) {
	if b.head.Len() > 0 {
		return b.head.Read(p)
	}
	select {
	case <-b.done:
		return 0, io.EOF
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	}
}

func (b *blockedBody) Close() error { b.once.Do(func() { close(b.done) }); return nil }

// TestSweepEveryRouteWithBadInput sends every route what a hostile client
// would send. Every answer is a 4xx (2xx only for a garbage query a route
// may ignore), API answers in the error shape with a documented code whose
// status is the one it is answered with, never a 5xx; a body over the limit
// is refused before it has all arrived; afterwards the node is healthy, no
// incident opened and nothing the API shows changed.
func TestSweepEveryRouteWithBadInput(t *testing.T) {
	t.Parallel()
	doc, ops := loadSweepDoc(t)
	pages := pageRoutes(t)
	// Two nodes (node1 leads, node2 follows and forwards writes) and an
	// edge in front of both: the same requests go to each.
	cl := testkit.StartCluster(t, 2, testkit.ClusterOptions{})
	n := cl.Nodes[cl.WaitLeader(t, nil, 30*time.Second)]
	follower := cl.Nodes[0]
	if follower == n {
		follower = cl.Nodes[1]
	}
	edge := testkit.StartEdge(t, []string{cl.Nodes[0].URL, cl.Nodes[1].URL}, "--admin-token", testkit.DefaultAdminToken)
	admin := n.AdminToken

	// Real objects, so that a valid path reaches the body decoder and the
	// credentials' checks: an open drop with a held and an ordered unit, a
	// tenant with a revoked key.
	n.MustCreateDrop(t, testkit.DropRequest{ID: "sweep", Name: "Sweep", Stock: 5, PerCustomerLimit: 1, HoldSeconds: 300})
	tk := n.MustJoin(t, "sweep")
	n.MustWaitAdmitted(t, "sweep", tk.Ticket)
	hold := n.MustHold(t, "sweep", tk.Ticket, 1)
	sess := n.MustSession(t, "sweep@example.com")
	buyer := n.MustJoin(t, "sweep")
	n.MustWaitAdmitted(t, "sweep", buyer.Ticket)
	order := n.MustOrder(t, n.MustHold(t, "sweep", buyer.Ticket, 1).ID, buyer.Ticket, n.MustSession(t, "buyer@example.com"), "sweep-key")
	n.MustCreateTenant(t, testkit.TenantRequest{ID: "acme", Name: "Acme", MaxDrops: 2})
	revoked := n.MustCreateKey(t, "acme", "owner")
	if err := n.RevokeKey(testkit.Context(t, 10*time.Second), revoked.ID); err != nil {
		t.Fatal(err)
	}
	valid := map[string]string{"drop": "sweep", "hold": hold.ID, "id": "nothing", "key_id": revoked.ID, "token": "nothing", "action": "pause"}
	validParam := func(path, name string) string {
		switch {
		case name == "id" && strings.HasPrefix(path, "/api/v1/orders/"):
			return order.ID
		case name == "id" && strings.HasPrefix(path, "/api/v1/tenants/"):
			return "acme"
		}
		if v, ok := valid[name]; ok {
			return v
		}
		t.Fatalf("%s: no value for the path parameter %q; add it to the sweep", path, name)
		return ""
	}
	fill := func(o sweepOp, bad map[string]string) string {
		p := o.path
		for _, name := range o.params {
			v, ok := bad[name]
			if !ok {
				v = validParam(o.path, name)
			}
			p = strings.Replace(p, "{"+name+"}", v, 1)
		}
		return p
	}
	console, csrf := consoleSignIn(t, n.URL, admin)
	// goodAuth is the credential that lets the request past authentication.
	goodAuth := func(o sweepOp) http.Header {
		h := http.Header{"Idempotency-Key": {"sweep-" + o.method}}
		switch {
		case o.needs("page"):
			h.Set("Cookie", console)
		case o.needs("adminToken"):
			h.Set("Authorization", "Bearer "+admin)
		case o.needs("ticket"):
			h.Set("Authorization", "Bearer "+tk.Ticket)
		case o.needs("session"):
			h.Set("Authorization", "Bearer "+sess)
		}
		return h
	}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}

	var cases []sweepCase
	add := func(c sweepCase) { cases = append(cases, c) }

	// Forged and missing credentials, where the route needs one.
	forgedAdmin := map[string]string{
		"no credentials":          "",
		"garbage bearer":          "Bearer garbage",
		"empty bearer":            "Bearer ",
		"basic scheme":            "Basic " + admin,
		"token without scheme":    admin,
		"token one byte off":      "Bearer " + admin[:len(admin)-1] + "x",
		"token with a suffix":     "Bearer " + admin + "x",
		"token in upper case":     "Bearer " + strings.ToUpper(admin),
		"ticket as admin token":   "Bearer " + tk.Ticket,
		"session as admin token":  "Bearer " + sess,
		"revoked tenant key":      "Bearer " + revoked.Key,
		"made-up tenant key":      "Bearer fgk_" + strings.Repeat("0", 40),
		"10 KiB token":            "Bearer " + strings.Repeat("A", 10<<10),
		"invalid UTF-8 token":     "Bearer \xff\xfe",
		"forged forwarding mark ": "",
	}
	forgedTicket := forge(t, tk.Ticket)
	forgedTicket["no credentials"] = ""
	forgedTicket["admin token as ticket"] = admin
	forgedTicket["session as ticket"] = sess
	forgedSession := map[string]string{
		"no credentials":    "",
		"garbage session":   "garbage",
		"ticket as session": tk.Ticket,
		"admin as session":  admin,
		"cut session":       sess[:len(sess)-3],
	}
	for _, o := range ops {
		if o.public() {
			continue
		}
		path := fill(o, nil)
		var body []byte
		if o.body {
			body = []byte(`{}`)
		}
		base := goodAuth(o)
		switch {
		case o.needs("adminToken"):
			for name, v := range forgedAdmin {
				h := with(base, "Authorization", v)
				if strings.HasPrefix(name, "forged forwarding") {
					// A follower's signature on a forwarded request, made up.
					h.Set("X-Floodgate-Forwarded", "t="+strconv.FormatInt(time.Now().Unix(), 10)+",ip=203.0.113.9,admin=1,mac=AAAA")
				}
				add(sweepCase{name: "auth/" + name, op: o, method: o.method, path: path, hdr: h, body: body, want: 401})
			}
		case o.needs("ticket"), o.needs("ticketQuery"):
			for name, v := range forgedTicket {
				if v != "" {
					v = "Bearer " + v
				}
				add(sweepCase{name: "auth/" + name, op: o, method: o.method, path: path, hdr: with(base, "Authorization", v), body: body, want: 401})
			}
			if o.needs("ticketQuery") {
				add(sweepCase{name: "auth/forged ticket in the query", op: o, method: o.method, path: path + "?ticket=" + forgedTicket["other key"], hdr: with(base, "Authorization", ""), want: 401})
			}
		case o.needs("session"):
			for name, v := range forgedSession {
				if v != "" {
					v = "Bearer " + v
				}
				add(sweepCase{name: "auth/" + name, op: o, method: o.method, path: path, hdr: with(base, "Authorization", v), body: body, want: 401})
			}
		default:
			t.Fatalf("%s %s: security %v is not swept; add its forgeries", o.method, o.path, o.auth)
		}
	}

	// Path segments that are no id, with good credentials.
	badSegments := map[string]string{
		"dot dot":         "..",
		"escaped dot dot": "%2e%2e",
		"NUL":             "%00",
		"invalid UTF-8":   "%ff%fe",
		"escaped slash":   "a%2Fb",
		"escaped percent": "%25",
		"markup":          "%3Cscript%3E",
		"8 KiB id":        strings.Repeat("x", 8<<10),
		"space":           "a%20b",
	}
	for _, o := range append(slices.Clone(ops), pages...) {
		for _, param := range o.params {
			for name, seg := range badSegments {
				if o.path == "/admin/drops/{drop}/{action}" && param == "action" && name == "dot dot" {
					continue
				}
				var body []byte
				if o.body || o.method == "POST" {
					body = []byte(`{}`)
				}
				want := 0
				if o.method == "GET" && !o.needs("page") && !o.responses["404"] {
					want = -1 // a page that shows a button for any token, not what it is
				}
				add(sweepCase{name: "path/" + param + "=" + name, op: o, method: o.method, path: fill(o, map[string]string{param: seg}), hdr: goodAuth(o), body: body, want: want})
			}
		}
	}

	// Broken bodies, with good credentials and path.
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	badBodies := map[string]string{
		"cut JSON":               `{"a":`,
		"JSON array":             `[1,2]`,
		"JSON string":            `"x"`,
		"JSON number":            `17`,
		"unknown field":          `{"zz_not_a_field":1}`,
		"deep nesting":           `{"zz":` + deep + `}`,
		"deep nesting alone":     deep,
		"invalid UTF-8 key":      "{\"\xff\xfe\":1}",
		"invalid UTF-8 value":    "{\"zz_not_a_field\":\"\xff\xfe\"}",
		"NUL byte":               "{\"zz_not_a_field\x00\":1}",
		"trailing garbage":       `{"zz_not_a_field":1}}}`,
		"duplicate unknown keys": `{"zz":1,"zz":2}`,
		"huge number":            `{"zz":1` + strings.Repeat("0", 5000) + `}`,
	}
	huge := append([]byte(`{"zz":"`), bytes.Repeat([]byte("x"), 10<<20)...)
	huge = append(huge, `"}`...)
	hugeForm := append([]byte("csrf="+csrf+"&zz="), huge[:2<<20]...)
	for _, o := range ops {
		if !o.body {
			continue
		}
		path := fill(o, nil)
		for name, b := range badBodies {
			add(sweepCase{name: "body/" + name, op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "application/json"), body: []byte(b), want: 400})
		}
		add(sweepCase{name: "body/text/plain", op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "text/plain"), body: []byte(`{"zz_not_a_field":1}`)})
		add(sweepCase{name: "body/form", op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "application/x-www-form-urlencoded"), body: []byte(`zz=1&id=sweep`)})
		add(sweepCase{name: "body/10 MiB", op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "application/json"), body: huge, want: 413})
		add(sweepCase{name: "body/2 MiB then nothing", op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "application/json"), body: huge[:2<<20], stream: true, want: 413})
		add(sweepCase{name: "body/2 MiB form then nothing", op: o, method: o.method, path: path, hdr: with(goodAuth(o), "Content-Type", "application/x-www-form-urlencoded"), body: hugeForm, stream: true})
	}
	// The pages' forms, with the console's session and its CSRF token, on
	// objects that do not exist (a form that works would change the sale).
	for _, o := range pages {
		if o.method != "POST" || strings.HasSuffix(o.path, "/logout") {
			continue
		}
		path := fill(o, map[string]string{"drop": "nothing", "id": "nothing"})
		form := with(goodAuth(o), "Content-Type", "application/x-www-form-urlencoded")
		add(sweepCase{name: "form/garbage", op: o, method: "POST", path: path, hdr: form,
			body: []byte("csrf=" + csrf + "&id=..&name=%ff%fe&stock=-1&price=1e999&starts_at=yesterday&status=zz&impact=zz&message=&confirm=zz&email=not+an+email&token=garbage&next=//evil.example&reason=%00")})
		add(sweepCase{name: "form/2 MiB then nothing", op: o, method: "POST", path: path, hdr: form, body: hugeForm, stream: true})
	}

	// Garbage queries on reads, with good credentials and path: a route
	// may ignore what it does not read (2xx), or refuse it (4xx).
	garbage := "?after=-1&limit=-5&wait=99999999999&ticket=%ff%00&q=%00%ff&lang=..&cursor=" + strings.Repeat("z", 4000) + "&limit=abc&&=&%zz"
	for _, o := range append(slices.Clone(ops), pages...) {
		if o.method != "GET" {
			continue
		}
		h := goodAuth(o)
		if o.path == "/api/v1/drops/{drop}/queue" {
			h.Del("Authorization") // the ticket in the query is the credential
		}
		add(sweepCase{name: "query/garbage", op: o, method: "GET", path: fill(o, nil) + garbage, hdr: h, want: -1})
	}

	// Hostile headers, with good credentials: on reads (which may answer
	// 2xx), and on writes with a body they refuse anyway.
	badHeaders := map[string][2]string{
		"10 KiB request id":         {"X-Request-Id", strings.Repeat("r", 10<<10)},
		"request id with odd bytes": {"X-Request-Id", "a\tb\xff<script>\"x"},
		"event stream wanted":       {"Accept", "text/event-stream"},
		"nothing acceptable":        {"Accept", "application/x-nothing"},
		"garbage languages":         {"Accept-Language", "zz-ZZ;q=abc, *;q=-1, \xff"},
		"gzip that is not":          {"Content-Encoding", "gzip"},
		"garbage range":             {"Range", "bytes=999999999999-1,-0"},
		"garbage cookie":            {"Cookie", "fg_console=%ff%00; fg_session=" + strings.Repeat("c", 3000)},
		"key of invalid UTF-8":      {"Idempotency-Key", "\xff\xfe"},
		"forwarded for garbage":     {"X-Forwarded-For", "::ffff:999.1.1.1, , junk, " + strings.Repeat("1.", 2000)},
		"forwarded proto garbage":   {"X-Forwarded-Proto", "gopher"},
		"forged forwarding mark":    {"X-Floodgate-Forwarded", "t=1,ip=::1,admin=1,mac=" + strings.Repeat("A", 200)},
		"expect 100-continue":       {"Expect", "100-continue"},
		"unknown transfer encoding": {"Transfer-Encoding", "identity"},
	}
	for _, o := range append(slices.Clone(ops), pages...) {
		for name, hv := range badHeaders {
			h := goodAuth(o)
			if hv[0] == "Cookie" && o.needs("page") {
				h.Del("Cookie")
			}
			h.Add(hv[0], hv[1])
			switch {
			case o.method == "GET":
				add(sweepCase{name: "header/" + name, op: o, method: "GET", path: fill(o, nil), hdr: h, want: -1})
			case o.body:
				add(sweepCase{name: "header/" + name, op: o, method: o.method, path: fill(o, nil), hdr: h, body: []byte(`{"zz_not_a_field":1}`)})
			}
		}
	}

	// Documented query parameters out of their type or range, one at a
	// time: an integer that is not one, or is past its bounds, is 400.
	for _, o := range ops {
		for _, q := range o.query {
			name, _ := q["name"].(string)
			schema := asMapOf(q["schema"])
			values := map[string]int{"%00": -1, "%ff%fe": -1, strings.Repeat("q", 4000): -1, "": -1}
			if schema["type"] == "integer" {
				values = map[string]int{"abc": 400, "1.5": 400, "0x10": 400, "99999999999999999999": 400, "%00": 400, "1e3": 400, "": -1}
				if min, ok := schema["minimum"].(int); ok {
					values[strconv.Itoa(min-1)] = 400
				}
				if max, ok := schema["maximum"].(int); ok {
					values[strconv.Itoa(max+1)] = 400
				}
			}
			for v, want := range values {
				label := v
				if len(label) > 20 {
					label = label[:20] + "…"
				}
				add(sweepCase{name: "query/" + name + "=" + label, op: o, method: o.method, path: fill(o, nil) + "?" + name + "=" + v, hdr: goodAuth(o), want: want})
			}
		}
	}

	// Methods a path does not have, with good credentials.
	byPath := map[string][]sweepOp{}
	for _, o := range append(slices.Clone(ops), pages...) {
		byPath[o.path] = append(byPath[o.path], o)
	}
	for _, list := range byPath {
		for _, m := range append(slices.Clone(sweepMethods), "OPTIONS", "TRACE", "PROPFIND") {
			if slices.ContainsFunc(list, func(o sweepOp) bool { return o.method == m }) {
				continue
			}
			o := list[0]
			add(sweepCase{name: "method/" + m, op: o, method: m, path: fill(o, nil), hdr: goodAuth(o), body: []byte(`{}`)})
		}
	}
	t.Logf("%d operations and %d page routes: %d hostile requests", len(ops), len(pages), len(cases))

	before := sweepState(t, n)
	for _, target := range []struct{ name, url string }{{"leader", n.URL}, {"follower", follower.URL}, {"edge", edge.URL}} {
		sweepTarget(t, target.name, target.url, cases, doc)
	}
	for i, node := range cl.Nodes {
		if !node.Running() {
			t.Fatalf("node%d died during the sweep", i+1)
		}
		node.WaitHealthy(t, 10*time.Second)
	}
	if !edge.Running() {
		t.Fatal("the edge died during the sweep")
	}
	time.Sleep(1500 * time.Millisecond) // one more round of health signals
	for _, node := range cl.Nodes {
		if after := sweepState(t, node); after != before {
			t.Errorf("refused requests changed what the API of %s shows:\nbefore %s\nafter  %s", node.URL, before, after)
		}
	}
}

// sweepTarget sends every case to the server at base, four at a time, and
// reports each fault once with the cases that showed it.
func sweepTarget(t *testing.T, target, base string, cases []sweepCase, doc sweepDoc) {
	hc := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 8},
	}
	defer hc.CloseIdleConnections()
	work := make(chan sweepCase)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string][]string{} // fault → cases
	counts := map[int]int{}
	fail := func(c sweepCase, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		what := fmt.Sprintf(format, args...)
		failures[what] = append(failures[what], c.name)
	}
	for range 4 {
		wg.Go(func() {
			for c := range work {
				status := sweepOne(t, hc, base, c, doc, fail)
				mu.Lock()
				counts[status]++
				mu.Unlock()
			}
		})
	}
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	t.Logf("%s: answers by status: %v", target, counts)
	for _, f := range slices.Sorted(maps.Keys(failures)) {
		names := failures[f]
		sort.Strings(names)
		if len(names) > 4 {
			names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
		}
		t.Errorf("%s: %s (cases: %s)", target, f, strings.Join(names, "; "))
	}
}

// sweepOne sends c and checks the answer; it returns the status (0 when
// there was none).
func sweepOne(t *testing.T, hc *http.Client, base string, c sweepCase, doc sweepDoc, fail func(sweepCase, string, ...any)) int {
	where := c.method + " " + c.op.path
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	var blocked *blockedBody
	if c.stream {
		blocked = &blockedBody{head: bytes.NewReader(c.body), ctx: ctx, done: make(chan struct{})}
		body = blocked
		defer blocked.Close()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, body)
	if err != nil {
		t.Errorf("%s: %s: %v", where, c.name, err)
		return 0
	}
	if c.stream {
		req.ContentLength = -1
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	if c.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && c.stream {
			fail(c, "%s: no answer while the rest of an oversized body was withheld: the body is read whole before it is refused", where)
		} else {
			fail(c, "%s: no answer: %v", where, err)
		}
		return 0
	}
	defer resp.Body.Close()
	st := resp.StatusCode
	switch {
	case st >= 500:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		fail(c, "%s: %d %s", where, st, b)
		return st
	case c.want > 0 && st != c.want:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		fail(c, "%s: %d, want %d (%s)", where, st, c.want, b)
		return st
	case st >= 300 && st < 400:
		// The mux cleans raw dot segments with a redirect to the clean
		// path; pages send a browser on (to a login, to a directory's
		// slash), but never off the site.
		loc := resp.Header.Get("Location")
		switch {
		case !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\"):
			fail(c, "%s: %d to %q, off the site", where, st, loc)
		case !c.op.needs("page") && !strings.Contains(c.path, "/../") && !strings.HasSuffix(c.path, "/.."):
			fail(c, "%s: %d to %q", where, st, loc)
		}
		return st
	case st < 300 && c.want != -1:
		fail(c, "%s: %d, want a 4xx", where, st)
		return st
	case st < 300:
		return st // a stream may follow: not read
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		fail(c, "%s: %d with a broken body: %v", where, st, err)
	}
	if !strings.HasPrefix(c.op.path, "/api/") {
		return st
	}
	if strings.HasPrefix(c.hdr.Get("Content-Type"), "application/x-www-form-urlencoded") && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return st // the status page's forms post to the API and get a page back
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(c, "%s: %d with Content-Type %q, want application/json", where, st, ct)
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		fail(c, "%s: %d with %q, not the error shape", where, st, truncate(b))
		return st
	}
	want, ok := doc.Components.Schemas.ErrorCode.XStatus[e.Error.Code]
	switch {
	case !ok:
		fail(c, "%s: %d with the undocumented code %q", where, st, e.Error.Code)
	case st == http.StatusMethodNotAllowed && e.Error.Code == floodgate.EInvalid:
		// docs/api.md: a wrong method is 405 invalid_argument with Allow.
	case want != st:
		fail(c, "%s: %d with code %q, which is documented as %d", where, st, e.Error.Code, want)
	}
	if c.op.method == c.method && !c.op.responses[strconv.Itoa(st)] && !c.op.responses["default"] && st != 429 {
		fail(c, "%s: %d %s, not among the operation's documented answers", where, st, e.Error.Code)
	}
	return st
}

// sweepState is everything the API shows that a request could change: the
// drops and their orders, incidents (an incident opened by a burst of 5xx
// shows here), tenants, keys, sinks, subscribers and the operators' audit.
func sweepState(t *testing.T, n *testkit.Node) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(snapshot(t, n))
	ctx := testkit.Context(t, 10*time.Second)
	for _, p := range []string{"/api/v1/incidents", "/api/v2/incidents/unresolved.json", "/api/v1/tenants", "/api/v1/tenants/acme/keys", "/api/v1/sinks", "/api/v1/subscribers", "/api/v1/audit", "/api/v1/maintenances"} {
		resp, err := n.Do(ctx, http.MethodGet, p, testkit.Bearer(n.AdminToken), nil)
		if err != nil || resp.Status != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		body := resp.Body
		if p == "/api/v2/incidents/unresolved.json" {
			// Its page block carries the time of the answer.
			var v struct {
				Incidents json.RawMessage `json:"incidents"`
			}
			_ = json.Unmarshal(body, &v)
			body = v.Incidents
		}
		fmt.Fprintf(&b, "\n%s %s", p, body)
	}
	return b.String()
}

// consoleSignIn signs in to the console at base with the admin token and
// returns its session cookie ("fg_console=...") and CSRF token.
func consoleSignIn(t *testing.T, base, token string) (cookie, csrf string) {
	t.Helper()
	ctx := testkit.Context(t, 10*time.Second)
	c := testkit.NewClient(base, "")
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(ctx, http.MethodPost, "/admin/login", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("token="+token))
	if err != nil || resp.Status != http.StatusSeeOther {
		t.Fatalf("console sign-in: %v %v", resp, err)
	}
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "fg_console=") {
			cookie, _, _ = strings.Cut(sc, ";")
		}
	}
	resp, err = c.Do(ctx, http.MethodGet, "/admin/", http.Header{"Cookie": {cookie}}, nil)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("console page after sign-in: %v %v", resp, err)
	}
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(resp.Body)
	if cookie == "" || m == nil {
		t.Fatalf("console sign-in gave no cookie (%q) or no CSRF token", resp.Header.Values("Set-Cookie"))
	}
	return cookie, string(m[1])
}

// schemaOf resolves $ref, allOf and oneOf (the first) of a schema of
// docs/openapi.yaml into one object schema.
func schemaOf(doc map[string]any, v any) map[string]any {
	m := asMapOf(v)
	if ref, ok := m["$ref"].(string); ok {
		at := doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			at = asMapOf(at[part])
		}
		return schemaOf(doc, at)
	}
	if one := asList(m["oneOf"]); len(one) > 0 {
		return schemaOf(doc, one[0])
	}
	if all := asList(m["allOf"]); len(all) > 0 {
		out := map[string]any{"type": "object"}
		props := map[string]any{}
		var required []any
		for _, s := range all {
			s := schemaOf(doc, s)
			for k, p := range asMapOf(s["properties"]) {
				props[k] = p
			}
			required = append(required, asList(s["required"])...)
		}
		out["properties"], out["required"] = props, required
		return out
	}
	return m
}

// plausible is a value the schema takes, as far as a generic reading of
// it goes: enough for a body to pass its required fields, so that the
// hostile value of one field is what the server judges.
func plausible(doc map[string]any, s map[string]any) any {
	s = schemaOf(doc, s)
	if e := asList(s["enum"]); len(e) > 0 {
		return e[0]
	}
	if c, ok := s["const"]; ok {
		return c
	}
	switch s["type"] {
	case "integer", "number":
		if m, ok := s["minimum"]; ok {
			if n, ok := m.(int); ok && n > 1 {
				return n
			}
		}
		return 1
	case "boolean":
		return false
	case "array":
		return []any{}
	case "object":
		out := map[string]any{}
		for _, r := range asList(s["required"]) {
			name, _ := r.(string)
			out[name] = plausible(doc, asMapOf(asMapOf(s["properties"])[name]))
		}
		return out
	}
	switch s["format"] {
	case "date-time":
		return time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	case "email":
		return "v@example.com"
	case "uri":
		return "https://example.com/hook"
	}
	return "sweepv"
}

// hostileValues are the values a hostile client puts in a field of the
// given schema type, beside values of every other type.
func hostileValues(typ any) map[string]any {
	v := map[string]any{
		"null":         nil,
		"object":       map[string]any{"zz": 1},
		"list":         []any{nil, 1, "x"},
		"empty string": "",
	}
	switch typ {
	case "string":
		v["900 KiB string"] = strings.Repeat("x", 900<<10)
		v["NUL"] = "a\x00b"
		v["lone surrogate"] = json.RawMessage(`"\ud800"`)
		v["path"] = "../../etc/passwd"
		v["markup"] = "<script>alert(1)</script>"
		v["far future"] = "9999-12-31T23:59:59Z"
		v["year 1"] = "0001-01-01T00:00:00Z"
		v["no such date"] = "2026-13-45T99:99:99Z"
		v["number"] = 17
	case "integer", "number":
		v["-1"] = -1
		v["0"] = 0
		v["max int64"] = json.RawMessage(`9223372036854775807`)
		v["past int64"] = json.RawMessage(`9223372036854775808`)
		v["min int64"] = json.RawMessage(`-9223372036854775808`)
		v["1e308"] = json.RawMessage(`1e308`)
		v["a half"] = 0.5
		v["-0"] = json.RawMessage(`-0`)
		v["as a string"] = "1"
	case "array":
		big := make([]string, 100000)
		for i := range big {
			big[i] = fmt.Sprint(i)
		}
		v["100k items"] = big
		v["item twice"] = []string{"a", "a"}
		v["a string"] = "x"
	case "boolean":
		v["as a string"] = "true"
		v["1"] = 1
	}
	return v
}

// TestSweepFieldValues puts hostile values in every field of every
// documented request body (the other required fields plausible), on a node
// of its own: requests that are valid may change its state; none may be
// answered 5xx or crash it, refusals are in the error shape, and every
// drop's stock adds up afterwards.
func TestSweepFieldValues(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := yaml.Unmarshal(floodgate.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	_, ops := loadSweepDoc(t)
	n := testkit.StartNode(t, testkit.Options{})
	n.MustCreateDrop(t, testkit.DropRequest{ID: "vals", Name: "Values", Stock: 50, PerCustomerLimit: 2, HoldSeconds: 300})
	tk := n.MustJoin(t, "vals")
	n.MustWaitAdmitted(t, "vals", tk.Ticket)
	hold := n.MustHold(t, "vals", tk.Ticket, 1)
	sess := n.MustSession(t, "vals@example.com")
	n.MustCreateTenant(t, testkit.TenantRequest{ID: "acme", Name: "Acme", MaxDrops: 2})
	params := map[string]string{"drop": "vals", "hold": hold.ID, "id": "acme", "key_id": "nothing", "token": "nothing"}

	type req struct {
		name, method, path string
		hdr                http.Header
		body               []byte
	}
	var reqs []req
	for _, o := range ops {
		// Membership changes are the operator's to make: a made-up voter
		// would take the quorum away, which is no bad input.
		if !o.body || strings.HasPrefix(o.path, "/api/v1/cluster/") {
			continue
		}
		path := o.path
		for _, p := range o.params {
			path = strings.Replace(path, "{"+p+"}", params[p], 1)
		}
		hdr := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"vals-" + o.path}}
		switch {
		case o.needs("adminToken"):
			hdr.Set("Authorization", "Bearer "+n.AdminToken)
		case o.needs("ticket"):
			hdr.Set("Authorization", "Bearer "+tk.Ticket)
		case o.needs("session"):
			hdr.Set("Authorization", "Bearer "+sess)
		}
		item := asMapOf(doc["paths"].(map[string]any)[o.path])
		rb := asMapOf(asMapOf(item[strings.ToLower(o.method)])["requestBody"])
		schema := schemaOf(doc, asMapOf(asMapOf(asMapOf(rb["content"])["application/json"])["schema"]))
		base, _ := plausible(doc, schema).(map[string]any)
		if base == nil {
			continue
		}
		for field, fs := range asMapOf(schema["properties"]) {
			for vname, v := range hostileValues(schemaOf(doc, asMapOf(fs))["type"]) {
				body := map[string]any{}
				for k, bv := range base {
					body[k] = bv
				}
				body[field] = v
				b, err := json.Marshal(body)
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, req{name: field + "=" + vname, method: o.method, path: path, hdr: hdr, body: b})
			}
		}
	}
	if len(reqs) < 500 {
		t.Fatalf("only %d requests: is the API document read right?", len(reqs))
	}
	t.Logf("%d requests with a hostile field value", len(reqs))

	ctx := testkit.Context(t, 120*time.Second)
	var mu sync.Mutex
	faults := map[string][]string{}
	counts := map[int]int{}
	work := make(chan req)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for r := range work {
				resp, err := n.Do(ctx, r.method, r.path, r.hdr, r.body)
				mu.Lock()
				switch {
				case err != nil:
					f := fmt.Sprintf("%s %s: no answer: %v", r.method, r.path, err)
					faults[f] = append(faults[f], r.name)
				case resp.Status >= 500:
					f := fmt.Sprintf("%s %s: %d %s", r.method, r.path, resp.Status, truncate(resp.Body))
					faults[f] = append(faults[f], r.name)
				case resp.Status >= 400 && testkit.ParseError(resp).Code == "":
					f := fmt.Sprintf("%s %s: %d not in the error shape: %s", r.method, r.path, resp.Status, truncate(resp.Body))
					faults[f] = append(faults[f], r.name)
				}
				if err == nil {
					counts[resp.Status]++
				}
				mu.Unlock()
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	t.Logf("answers by status: %v", counts)
	for _, f := range slices.Sorted(maps.Keys(faults)) {
		t.Errorf("%s (fields: %s)", f, strings.Join(faults[f], "; "))
	}
	n.WaitHealthy(t, 10*time.Second)
	drops, err := n.Drops(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drops {
		if d.Available+d.Held+d.AwaitingPayment+d.Sold != d.Stock || d.Available < 0 || d.Held < 0 || d.Sold < 0 {
			t.Errorf("drop %s does not add up: %+v", d.ID, d)
		}
	}
}
