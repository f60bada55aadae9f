package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/client"
)

// api calls the JSON API with a bearer token and decodes the answer.
func (e *env) api(token, method, path, body string, out any) int {
	e.t.Helper()
	st, err := client.New(e.url).Call(context.Background(), method, path, client.Bearer(token), []byte(body), out)
	if err != nil && (st == 0 || st/100 == 2) { // no answer, or one that does not decode
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return st
}

func (e *env) tenantKey(tenant, role string) (id, key string) {
	e.t.Helper()
	var k struct{ ID, Key string }
	if st := e.api(root, "POST", "/api/v1/tenants/"+tenant+"/keys", `{"role":"`+role+`"}`, &k); st != http.StatusCreated {
		e.t.Fatalf("create a %s key of %s: %d", role, tenant, st)
	}
	return k.ID, k.Key
}

func (e *env) signInWith(c *http.Client, token string) string {
	e.t.Helper()
	st, loc, _ := e.post(c, "/admin/login", url.Values{"token": {token}})
	if st != http.StatusSeeOther || loc != "/admin/" {
		e.t.Fatalf("sign in with %.12s…: %d %s", token, st, loc)
	}
	_, page := e.get(c, "/admin/")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the drops page:\n%.2000s", page)
	}
	return m[1]
}

// TestConsoleWithATenantKey: a maker signs in to the console with its own
// API key and sees, opens and changes only its own drops; a viewer key
// cannot change them; a revoked key's session ends at the next page.
func TestConsoleWithATenantKey(t *testing.T) {
	e := newEnv(t)
	for _, tenant := range []string{"acme", "bolt"} {
		if st := e.api(root, "POST", "/api/v1/tenants", `{"id":"`+tenant+`","name":"Maker `+tenant+`","max_drops":5}`, nil); st != http.StatusCreated {
			t.Fatalf("create tenant %s: %d", tenant, st)
		}
	}
	opID, op := e.tenantKey("acme", "operator")
	_, viewer := e.tenantKey("acme", "viewer")
	_, boltOp := e.tenantKey("bolt", "operator")
	for token, id := range map[string]string{op: "acme-speaker", boltOp: "bolt-lamp", root: "platform-drop"} {
		if st := e.api(token, "POST", "/api/v1/drops", `{"id":"`+id+`","name":"Drop `+id+`","stock":5}`, nil); st != http.StatusCreated {
			t.Fatalf("create %s: %d", id, st)
		}
	}
	if st := e.api(boltOp, "POST", "/api/v1/drops/bolt-lamp/pause", `{"reason":"bolt's own change"}`, nil); st != http.StatusOK {
		t.Fatalf("bolt pauses its drop: %d", st)
	}

	c := e.client()
	csrf := e.signInWith(c, op)
	_, page := e.get(c, "/admin/")
	if !strings.Contains(page, "acme-speaker") || strings.Contains(page, "bolt-lamp") || strings.Contains(page, "platform-drop") {
		t.Errorf("acme's drops page shows other drops or misses its own:\n%.3000s", page)
	}
	if st, _ := e.get(c, "/admin/drops/acme-speaker"); st != http.StatusOK {
		t.Errorf("acme's own drop page: %d", st)
	}
	for _, p := range []string{"/admin/drops/bolt-lamp", "/admin/drops/platform-drop", "/admin/drops/bolt-lamp/report", "/admin/drops/bolt-lamp/orders"} {
		if st, _ := e.get(c, p); st != http.StatusNotFound {
			t.Errorf("acme opens %s: %d, want 404", p, st)
		}
	}
	if st, _, _ := e.post(c, "/admin/drops/bolt-lamp/pause", url.Values{"csrf": {csrf}, "reason": {"x"}}); st != http.StatusNotFound {
		t.Errorf("acme pauses bolt's drop: %d, want 404", st)
	}
	if st, _, _ := e.post(c, "/admin/drops/acme-speaker/pause", url.Values{"csrf": {csrf}, "reason": {"Restocking"}}); st >= 400 {
		t.Errorf("acme pauses its own drop: %d", st)
	}
	_, audit := e.get(c, "/admin/audit")
	if !strings.Contains(audit, opID) || strings.Contains(audit, "bolt") {
		t.Errorf("acme's audit page should name its key %s and nothing of bolt:\n%.3000s", opID, audit)
	}

	// Incidents are the platform's (this test has no status service, so
	// the list is empty): the maker's page has no form to open one, root's has.
	if st, incidents := e.get(c, "/admin/incidents"); st != http.StatusOK || strings.Contains(incidents, `action="/admin/incidents"`) {
		t.Errorf("acme's incidents page: %d, want no form to open one:\n%.3000s", st, incidents)
	}
	rc := e.client()
	e.signInWith(rc, root)
	if _, incidents := e.get(rc, "/admin/incidents"); !strings.Contains(incidents, `action="/admin/incidents"`) {
		t.Errorf("root's incidents page lacks the form to open one:\n%.3000s", incidents)
	}

	// A viewer key signs in and reads, but changes nothing.
	vc := e.client()
	vcsrf := e.signInWith(vc, viewer)
	if st, _, _ := e.post(vc, "/admin/drops/acme-speaker/resume", url.Values{"csrf": {vcsrf}}); st != http.StatusForbidden {
		t.Errorf("a viewer resumes the drop: %d, want 403", st)
	}

	// Revoking the operator's key ends its console session.
	if st := e.api(root, "DELETE", "/api/v1/keys/"+opID, "", nil); st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	if st, _ := e.get(c, "/admin/"); st != http.StatusSeeOther {
		t.Errorf("the console after the key was revoked: %d, want a redirect to sign in", st)
	}
}
