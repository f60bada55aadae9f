package http_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/floodgate/floodgate/internal/api"
)

// The API document is checked against the source, not against a running
// server: the route table is read from the mux registrations in the packages
// that serve the API, so a route added without documentation (or documented
// and then removed) fails here, in milliseconds, with no fakes of the store.

const openAPIPath = "../docs/openapi.yaml"

// routeSources are the packages whose mux registrations make up the API a
// node serves: this package and the status package it mounts. edgeSources
// adds the edge, which serves a few of the same routes itself and forwards
// the rest: whatever it serves must be documented too.
var (
	routeSources = []string{".", "../status"}
	edgeSources  = append(slices.Clone(routeSources), "../edge")
)

var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// route is one registration: METHOD and path as the mux pattern has them
// ("" method for a pattern that matches every method).
type route struct {
	method, path string
	admin        bool   // the handler is wrapped in admin(...)
	leaderOnly   bool   // the handler is wrapped in leaderOnly(...)
	pos          string // file:line, for messages
}

func (r route) String() string { return strings.TrimSpace(r.method+" "+r.path) + " (" + r.pos + ")" }

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	routes := mustRoutes(t, edgeSources...)
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in %v; has the registration style changed (mux.Handle/HandleFunc with a string pattern)?", len(routes), routeSources)
	}
	paths := doc.paths(t)
	for _, r := range routes {
		ops, ok := paths[r.path]
		if !ok {
			t.Errorf("route %s is not documented: add %q under paths in docs/openapi.yaml", r, r.path)
			continue
		}
		if r.method == "" {
			continue // any method; the path being there is enough
		}
		if _, ok := ops[strings.ToLower(r.method)]; !ok {
			t.Errorf("route %s is not documented: add %s under paths.%q in docs/openapi.yaml", r, strings.ToLower(r.method), r.path)
		}
	}
}

func TestOpenAPIHasNoStalePaths(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	routes := mustRoutes(t, edgeSources...)
	registered := map[string]bool{}
	anyMethod := map[string]bool{}
	for _, r := range routes {
		if r.method == "" {
			anyMethod[r.path] = true
			continue
		}
		registered[r.method+" "+r.path] = true
		if r.method == http.MethodGet {
			registered["HEAD "+r.path] = true // GET patterns serve HEAD too
		}
	}
	for path, ops := range doc.paths(t) {
		n := 0
		for _, m := range operationMethods {
			if _, ok := ops[m]; !ok {
				continue
			}
			n++
			key := strings.ToUpper(m) + " " + path
			if !registered[key] && !anyMethod[path] {
				t.Errorf("docs/openapi.yaml documents %s, but no handler registers it: remove it or register the route", key)
			}
		}
		if n == 0 {
			t.Errorf("docs/openapi.yaml: path %q has no operation", path)
		}
	}
}

// TestOpenAPIWrappers checks that exactly the routes wrapped in admin()
// document the admin token and its 401, and that routes wrapped in
// leaderOnly() document their 503.
func TestOpenAPIWrappers(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	paths := doc.paths(t)
	for _, r := range mustRoutes(t, routeSources...) {
		op := asMap(paths[r.path][strings.ToLower(r.method)])
		if op == nil {
			continue // TestOpenAPIDocumentsEveryRoute reports it
		}
		documented := false
		for _, req := range asSlice(op["security"]) {
			if _, ok := asMap(req)["adminToken"]; ok {
				documented = true
			}
		}
		switch {
		case r.admin && !documented:
			t.Errorf("route %s needs the admin token; add security: [{adminToken: []}] to it in docs/openapi.yaml", r)
		case !r.admin && documented:
			t.Errorf("route %s does not need the admin token; docs/openapi.yaml says it does", r)
		}
		if _, has401 := asMap(op["responses"])["401"]; r.admin && !has401 {
			t.Errorf("route %s needs the admin token; document its 401 answer", r)
		}
		if _, has503 := asMap(op["responses"])["503"]; r.leaderOnly && !has503 {
			t.Errorf("route %s is leader-only; document its 503 answer (no leader)", r)
		}
	}
}

func TestOpenAPIErrorCodes(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	consts := mustErrorCodeConstants(t, "../floodgate.go")
	if len(consts) < 10 {
		t.Fatalf("found only %d error code constants in floodgate.go: %v", len(consts), consts)
	}

	// The ErrorCode schema lists every code, and the status of each.
	ec := doc.lookup(t, "#/components/schemas/ErrorCode")
	listed := map[string]bool{}
	for _, c := range asSlice(ec["enum"]) {
		code, _ := c.(string)
		listed[code] = true
		if !slices.Contains(consts, code) {
			t.Errorf("ErrorCode lists %q, which is not an error code constant in floodgate.go", code)
		}
	}
	for _, c := range consts {
		if !listed[c] {
			t.Errorf("error code %q of floodgate.go is missing from ErrorCode in docs/openapi.yaml", c)
		}
	}
	statuses := asMap(ec["x-status"])
	for _, c := range consts {
		got, ok := statuses[c].(int)
		if !ok {
			t.Errorf("ErrorCode x-status has no status for %q", c)
			continue
		}
		if want := api.Status(c); got != want {
			t.Errorf("ErrorCode x-status says %q is %d; internal/api answers it with %d", c, got, want)
		}
	}

	// Every error response carries the Error shape, codes that exist, and
	// only codes that internal/api answers with that response's status.
	checked := 0
	doc.eachOperation(t, func(method, path string, op map[string]any) {
		for status, resp := range asMap(op["responses"]) {
			code, err := strconv.Atoi(status)
			if err != nil {
				t.Errorf("%s %s: response %q: use a numeric status, so the codes can be checked", method, path, status)
				continue
			}
			if code < 400 {
				continue
			}
			where := fmt.Sprintf("%s %s response %d", strings.ToUpper(method), path, code)
			r := doc.resolve(t, asMap(resp))
			schema := asMap(asMap(asMap(r["content"])["application/json"])["schema"])
			if schema == nil {
				t.Errorf("%s: no application/json schema; every error answer has the Error body", where)
				continue
			}
			if !doc.refersTo(t, schema, "#/components/schemas/Error", map[string]bool{}) {
				t.Errorf("%s: the schema does not use #/components/schemas/Error", where)
			}
			codes := doc.errorCodeEnums(t, schema, map[string]bool{})
			if len(codes) == 0 {
				t.Errorf("%s: no enum of error codes; list the codes this status carries", where)
			}
			for _, c := range codes {
				if !slices.Contains(consts, c) {
					t.Errorf("%s: code %q is not an error code constant in floodgate.go", where, c)
				} else if s := api.Status(c); s != code {
					t.Errorf("%s: code %q is answered with %d, not %d (internal/api.Status)", where, c, s, code)
				}
			}
			if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
				if _, ok := asMap(r["headers"])["Retry-After"]; !ok {
					t.Errorf("%s: document the Retry-After header", where)
				}
			}
			checked++
		}
	})
	if checked < 50 {
		t.Errorf("checked only %d error responses; the document lost its error answers", checked)
	}
}

func TestOpenAPIWellFormed(t *testing.T) {
	doc := mustLoadOpenAPI(t)
	if v, _ := doc.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	// Every $ref points at something.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := doc.get(ref); err != nil {
					t.Errorf("%s: $ref %q: %v", at, ref, err)
				}
			}
			for k, e := range v {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc.root, "#")

	schemes := asMap(asMap(doc.root["components"])["securitySchemes"])
	ids := map[string]string{}
	doc.eachOperation(t, func(method, path string, op map[string]any) {
		where := strings.ToUpper(method) + " " + path
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", where)
		} else if other, dup := ids[id]; dup {
			t.Errorf("operationId %q is used by %s and %s", id, other, where)
		}
		ids[id] = where
		if len(asMap(op["responses"])) == 0 {
			t.Errorf("%s has no responses", where)
		}
		for _, req := range asSlice(op["security"]) {
			for name := range asMap(req) {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s uses security scheme %q, which components.securitySchemes does not define", where, name)
				}
			}
		}
		// Every {param} of the path is declared.
		params := map[string]bool{}
		for _, list := range []any{asMap(asMap(doc.root["paths"])[path])["parameters"], op["parameters"]} {
			for _, p := range asSlice(list) {
				p := doc.resolve(t, asMap(p))
				if p["in"] == "path" {
					params[p["name"].(string)] = true
				}
			}
		}
		for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
			if !params[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", where, m[1])
			}
		}
	})
}

// notYetBuilt lists the endpoints of the agreed contract that are not built
// yet, with the issue that builds them. The contract test skips them, and
// fails once one is documented, so the list only ever shrinks.
var notYetBuilt = map[string]string{}

// TestOpenAPICoversContract checks that every endpoint of the agreed
// contract (shared/API.md, beside the repository) is in the document.
func TestOpenAPICoversContract(t *testing.T) {
	buf, err := os.ReadFile("../../shared/API.md")
	if err != nil {
		t.Skipf("shared/API.md is not beside the repository (%v)", err)
	}
	doc := mustLoadOpenAPI(t)
	paths := doc.paths(t)
	found := 0
	for _, m := range contractRouteRE.FindAllStringSubmatch(string(buf), -1) {
		method, path := m[1], contractParamRE.ReplaceAllStringFunc(m[2], func(p string) string {
			return strings.ReplaceAll(p, " ", "_") // "{key id}" names one parameter
		})
		found++
		ops, ok := paths[path]
		if issue, pending := notYetBuilt[method+" "+path]; pending {
			if ok {
				if _, has := ops[strings.ToLower(method)]; has {
					t.Errorf("%s %s is documented now: take it off notYetBuilt (%s)", method, path, issue)
				}
			}
			continue
		}
		if !ok {
			t.Errorf("shared/API.md has %s %s; docs/openapi.yaml does not", method, path)
			continue
		}
		if _, ok := ops[strings.ToLower(method)]; !ok {
			t.Errorf("shared/API.md has %s %s; docs/openapi.yaml has the path but not the method", method, path)
		}
	}
	for _, m := range contractStatusRE.FindAllString(string(buf), -1) {
		found++
		if _, ok := paths[m]; !ok {
			t.Errorf("shared/API.md has %s; docs/openapi.yaml does not", m)
		}
	}
	if found < 15 {
		t.Errorf("found only %d endpoints in shared/API.md; has its format changed?", found)
	}
}

// TestOpenAPIStatusRoutesAreMounted checks that every route of the status package is
// reachable on a core node, through the path prefixes floodgate serve mounts
// it under; a route outside them would be documented but never served.
func TestOpenAPIStatusRoutesAreMounted(t *testing.T) {
	prefixes := mustStringSlice(t, "../status/paths.go", "Paths")
	for _, r := range mustRoutes(t, "../status") {
		ok := false
		for _, p := range prefixes {
			if r.path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.path, p)) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("status route %s is not under any prefix of status.Paths (%v)", r, prefixes)
		}
	}
}

var (
	pathParamRE      = regexp.MustCompile(`\{([^}/]+)\}`)
	contractRouteRE  = regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/(?:[^\\s`?{]|\\{[^}`]*\\})*)")
	contractParamRE  = regexp.MustCompile(`\{[^}]*\}`)
	contractStatusRE = regexp.MustCompile(`/api/v2/[a-z-]+\.json`)
)

// openAPI is the parsed document.
type openAPI struct{ root map[string]any }

var (
	loadedDoc *openAPI
	loadErr   error
)

func mustLoadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	if loadedDoc == nil && loadErr == nil {
		buf, err := os.ReadFile(openAPIPath)
		if err == nil {
			var root map[string]any
			if err = yaml.Unmarshal(buf, &root); err == nil {
				loadedDoc = &openAPI{root: root}
			}
		}
		loadErr = err
	}
	if loadErr != nil {
		t.Fatalf("read %s: %v", openAPIPath, loadErr)
	}
	return loadedDoc
}

// paths returns path → operations, keys as the document has them.
func (d *openAPI) paths(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for p, ops := range asMap(d.root["paths"]) {
		m := asMap(ops)
		if m == nil {
			t.Fatalf("paths.%q is not a mapping", p)
		}
		out[p] = m
	}
	if len(out) == 0 {
		t.Fatal("docs/openapi.yaml has no paths")
	}
	return out
}

func (d *openAPI) eachOperation(t *testing.T, fn func(method, path string, op map[string]any)) {
	t.Helper()
	for path, ops := range d.paths(t) {
		for _, m := range operationMethods {
			if op := asMap(ops[m]); op != nil {
				fn(m, path, op)
			}
		}
	}
}

// get follows a local JSON pointer such as #/components/schemas/Error.
func (d *openAPI) get(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("only local references are used in this document")
	}
	var cur any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m := asMap(cur)
		v, ok := m[part]
		if !ok {
			return nil, fmt.Errorf("no %q", part)
		}
		cur = v
	}
	return cur, nil
}

func (d *openAPI) lookup(t *testing.T, ref string) map[string]any {
	t.Helper()
	v, err := d.get(ref)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return asMap(v)
}

// resolve follows $ref until it reaches an object without one.
func (d *openAPI) resolve(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	for i := 0; v != nil && i < 10; i++ {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		v = d.lookup(t, ref)
	}
	return v
}

// refersTo reports whether schema is, or is composed of, the schema at ref.
func (d *openAPI) refersTo(t *testing.T, schema map[string]any, ref string, seen map[string]bool) bool {
	if r, ok := schema["$ref"].(string); ok {
		if r == ref {
			return true
		}
		if seen[r] {
			return false
		}
		seen[r] = true
		return d.refersTo(t, d.lookup(t, r), ref, seen)
	}
	for _, k := range []string{"allOf", "oneOf", "anyOf"} {
		for _, s := range asSlice(schema[k]) {
			if d.refersTo(t, asMap(s), ref, seen) {
				return true
			}
		}
	}
	return false
}

// errorCodeEnums collects the enum values of error.code in schema and the
// schemas it is composed of, except the shared Error schema, whose code is
// any ErrorCode: each response narrows it to the codes it can carry.
func (d *openAPI) errorCodeEnums(t *testing.T, schema map[string]any, seen map[string]bool) []string {
	if schema == nil {
		return nil
	}
	if r, ok := schema["$ref"].(string); ok {
		if seen[r] || r == "#/components/schemas/Error" {
			return nil
		}
		seen[r] = true
		return d.errorCodeEnums(t, d.lookup(t, r), seen)
	}
	var out []string
	code := asMap(asMap(asMap(asMap(schema["properties"])["error"])["properties"])["code"])
	code = d.resolve(t, code)
	for _, c := range asSlice(code["enum"]) {
		if s, ok := c.(string); ok {
			out = append(out, s)
		}
	}
	for _, k := range []string{"allOf", "oneOf", "anyOf"} {
		for _, s := range asSlice(schema[k]) {
			out = append(out, d.errorCodeEnums(t, asMap(s), seen)...)
		}
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// mustRoutes reads the mux registrations of the non-test Go files in dirs:
// every call X.Handle(pattern, h) or X.HandleFunc(pattern, h) whose pattern
// is a string literal (or literals joined with +). A pattern held in a
// variable mounts another handler (the status package's paths) and is
// skipped; any other expression fails the test, because it cannot be checked
// against the document. Subtree patterns without a method ("/", "/api/") are
// fallbacks, not endpoints, and are skipped too.
func mustRoutes(t *testing.T, dirs ...string) []route {
	t.Helper()
	var out []route
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				pos := fset.Position(call.Pos())
				at := filepath.Base(pos.Filename) + ":" + strconv.Itoa(pos.Line)
				if _, isIdent := call.Args[0].(*ast.Ident); isIdent {
					return true
				}
				pattern, ok := stringConstant(call.Args[0])
				if !ok {
					t.Errorf("%s: the route pattern is not a string literal; write it as one so docs/openapi.yaml can be checked against it", at)
					return true
				}
				r, ok := parsePattern(pattern)
				if !ok {
					return true
				}
				r.pos = dirLabel(dir) + "/" + at
				r.admin = wrappedIn(call.Args[1], "admin")
				r.leaderOnly = wrappedIn(call.Args[1], "leaderOnly")
				out = append(out, r)
				return true
			})
		}
	}
	return out
}

// wrappedIn reports whether a handler expression passes through a call of
// the method wrapper: admin requires the admin token, leaderOnly sends the
// request to the leader (503 when there is none).
func wrappedIn(e ast.Expr, wrapper string) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == wrapper {
				found = true
			}
		}
		return !found
	})
	return found
}

// dirLabel names a directory by its last element ("http" for ".").
func dirLabel(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return filepath.Base(abs)
	}
	return dir
}

func stringConstant(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringConstant(e.X)
		b, ok2 := stringConstant(e.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringConstant(e.X)
	}
	return "", false
}

// parsePattern turns a ServeMux pattern ("[METHOD ][HOST]/PATH") into a
// route with OpenAPI path syntax: {name...} becomes {name} and {$} is
// dropped. Method-less subtree patterns report false.
func parsePattern(p string) (route, bool) {
	var r route
	if m, rest, ok := strings.Cut(p, " "); ok {
		r.method, p = m, strings.TrimLeft(rest, " ")
	}
	if i := strings.Index(p, "/"); i > 0 {
		p = p[i:] // drop a host
	}
	if r.method == "" && strings.HasSuffix(p, "/") {
		return r, false
	}
	p = strings.ReplaceAll(p, "{$}", "")
	p = strings.ReplaceAll(p, "...}", "}")
	r.path = p
	return r, true
}

// mustValues parses file and returns the package-level declarations of kind
// tok (token.CONST or token.VAR): each name with its value, if it has one.
func mustValues(t *testing.T, file string, tok token.Token) iter.Seq2[string, ast.Expr] {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return func(yield func(string, ast.Expr) bool) {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != tok {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) && !yield(n.Name, vs.Values[i]) {
						return
					}
				}
			}
		}
	}
}

// mustErrorCodeConstants returns the values of the string constants named
// E… in file: the error codes of the API.
func mustErrorCodeConstants(t *testing.T, file string) []string {
	t.Helper()
	var out []string
	for name, v := range mustValues(t, file, token.CONST) {
		if !strings.HasPrefix(name, "E") {
			continue
		}
		if s, ok := stringConstant(v); ok {
			out = append(out, s)
		}
	}
	return out
}

// mustStringSlice returns the literal elements of the package-level variable
// name, a []string composite literal in file.
func mustStringSlice(t *testing.T, file, name string) []string {
	t.Helper()
	for n, v := range mustValues(t, file, token.VAR) {
		if n != name {
			continue
		}
		lit, ok := v.(*ast.CompositeLit)
		if !ok {
			t.Fatalf("%s: %s is not a composite literal", file, name)
		}
		var out []string
		for _, e := range lit.Elts {
			s, ok := stringConstant(e)
			if !ok {
				t.Fatalf("%s: an element of %s is not a string literal", file, name)
			}
			out = append(out, s)
		}
		return out
	}
	t.Fatalf("%s: no variable %s", file, name)
	return nil
}
