package status

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestWebhookSecretMinimum: a webhook secret of one character (or any
// shorter than MinWebhookSecret) is refused; a webhook's signature must be
// worth something.
func TestWebhookSecretMinimum(t *testing.T) {
	s, _ := MustOpen(t, func(c *Config) { c.Dev = false })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	var e map[string]any
	for _, secret := range []string{"k", "short-secret"} {
		if code := doJSON(t, "POST", srv.URL+"/api/v1/subscribers", testToken,
			map[string]any{"channel": "webhook", "target": "https://hooks.example.com/x", "secret": secret}, &e); code != http.StatusBadRequest || errorCode(e) != "invalid_argument" {
			t.Errorf("secret %q: %d %v, want 400 invalid_argument", secret, code, e)
		}
	}
	if code := doJSON(t, "POST", srv.URL+"/api/v1/subscribers", testToken,
		map[string]any{"channel": "webhook", "target": "https://hooks.example.com/x", "secret": strings.Repeat("s", MinWebhookSecret)}, &e); code != http.StatusCreated {
		t.Errorf("a secret of %d characters: %d %v", MinWebhookSecret, code, e)
	}
}

// TestStatusPageSecurityHeaders: the status page and its forms are not
// sniffed, not framed, and run under a content security policy that allows
// no script.
func TestStatusPageSecurityHeaders(t *testing.T) {
	s, _ := MustOpen(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, path := range []string{"/status", "/api/v1/unsubscribe/nope", "/api/v2/summary.json"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: nosniff %q, CSP %q", path, h.Get("X-Content-Type-Options"), csp)
		}
	}
}

// TestSecretsComparedInConstantTime: no code of the package compares an
// unsubscribe token or a secret with == or != (which returns at the first
// differing byte and so tells an attacker how much of a guess was right).
func TestSecretsComparedInConstantTime(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			be, ok := n.(*ast.BinaryExpr)
			if !ok || (be.Op != token.EQL && be.Op != token.NEQ) {
				return true
			}
			for _, side := range []ast.Expr{be.X, be.Y} {
				if sel, ok := side.(*ast.SelectorExpr); ok && (sel.Sel.Name == "UnsubscribeToken" || sel.Sel.Name == "Secret") {
					if lit, ok := other(be, side).(*ast.BasicLit); ok && lit.Value == `""` {
						continue // checking for empty is fine
					}
					t.Errorf("%s: %s compared with %s", fset.Position(be.Pos()), sel.Sel.Name, be.Op)
				}
			}
			return true
		})
	}
}

func other(be *ast.BinaryExpr, side ast.Expr) ast.Expr {
	if be.X == side {
		return be.Y
	}
	return be.X
}

// Incident ids and subscribers' tokens are random: 10 and 24 bytes in hex,
// never the same twice.
func TestIDsAndTokensAreRandom(t *testing.T) {
	id, token := regexp.MustCompile(`^inc_[0-9a-f]{20}$`), regexp.MustCompile(`^[0-9a-f]{48}$`)
	seen := map[string]bool{}
	for range 100 {
		i, k := newID("inc"), newToken()
		if !id.MatchString(i) || !token.MatchString(k) {
			t.Fatalf("id %q, token %q: want inc_ and 20 hex digits, 48 hex digits", i, k)
		}
		if seen[i] || seen[k] {
			t.Fatalf("%q or %q given twice", i, k)
		}
		seen[i], seen[k] = true, true
	}
}
