package console

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/pages"
	"github.com/floodgate/floodgate/status"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// API is what the console needs from the JSON API server; *http.Server
// implements it. Changes go through ServeHTTP, reads through the methods.
type API interface {
	http.Handler
	Caller(r *http.Request) (floodgate.Caller, error)
	Drops() []floodgate.Drop
	Live(c floodgate.Caller, id string) (fhttp.LiveView, error)
	Report(c floodgate.Caller, id string) (fhttp.Report, error)
	Orders(c floodgate.Caller, id, q string) ([]floodgate.Order, error)
	Audit(c floodgate.Caller, target string, before uint64, limit int) []fhttp.AuditEntry
	AuditNote(ctx context.Context, r *http.Request, action, target, detail string) error
}

var _ API = (*fhttp.Server)(nil)

// Config configures the console.
type Config struct {
	API API
	// Key encrypts and signs the session cookie; every node behind one
	// address needs the same key (serve derives it from the admin token).
	Key []byte
	// SessionTTL is how long a sign-in lasts; 8 h by default.
	SessionTTL time.Duration
	// Secure marks the cookie Secure on every answer; without it the cookie
	// is Secure when the request came over TLS or a trusted proxy (Trusted,
	// loopback always) says X-Forwarded-Proto: https.
	Secure bool
	// Trusted are the proxies whose X-Forwarded-For names the operator's
	// address, for the sign-in limit (nil counts the peer address), and
	// whose X-Forwarded-Proto is believed for Secure.
	Trusted clientaddr.Trusted
	Logger  *slog.Logger
	Now     func() time.Time
}

// Handler serves /admin.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	pages pages.Set
	aead  cipher.AEAD
	mac   []byte

	failMu sync.Mutex
	fails  map[string]*failCount // sign-in failures per client address
}

// failCount counts failed sign-ins from one address in the current minute.
type failCount struct {
	n     int
	since time.Time
}

// maxFails is how many wrong tokens one address may try per minute.
const maxFails = 10

var _ http.Handler = (*Handler)(nil)

// cookieName is the session cookie; its path is /admin.
const cookieName = "fg_console"

// New returns the console.
func New(cfg Config) (*Handler, error) {
	if cfg.API == nil {
		return nil, errors.New("console: Config.API is required")
	}
	defaults.Positive(&cfg.SessionTTL, 8*time.Hour)
	defaults.Logging(&cfg.Logger, &cfg.Now)
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		_, _ = rand.Read(cfg.Key)
	}
	enc := derive(cfg.Key, "floodgate console session encryption")
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger.With("component", "console"), aead: aead, mac: derive(cfg.Key, "floodgate console csrf"), fails: map[string]*failCount{}}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (h *Handler) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /admin/static/", http.StripPrefix("/admin/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /admin/login", h.loginForm)
	mux.HandleFunc("POST /admin/login", h.login)
	mux.HandleFunc("POST /admin/logout", h.signedIn(h.logout))
	mux.HandleFunc("GET /admin", h.signedIn(h.dropsPage))
	mux.HandleFunc("GET /admin/{$}", h.signedIn(h.dropsPage))
	mux.HandleFunc("GET /admin/drops/new", h.signedIn(h.newDropForm))
	mux.HandleFunc("POST /admin/drops/new", h.signedIn(h.createDrop))
	mux.HandleFunc("GET /admin/drops/{drop}", h.signedIn(h.livePage))
	mux.HandleFunc("GET /admin/drops/{drop}/events", h.signedIn(h.liveEvents))
	mux.HandleFunc("POST /admin/drops/{drop}/{action}", h.signedIn(h.control))
	mux.HandleFunc("GET /admin/drops/{drop}/report", h.signedIn(h.reportPage))
	mux.HandleFunc("GET /admin/drops/{drop}/report.json", h.signedIn(h.reportJSON))
	mux.HandleFunc("GET /admin/drops/{drop}/orders", h.signedIn(h.ordersPage))
	mux.HandleFunc("GET /admin/drops/{drop}/orders.csv", h.signedIn(h.ordersCSV))
	mux.HandleFunc("GET /admin/incidents", h.signedIn(h.incidentsPage))
	mux.HandleFunc("POST /admin/incidents", h.signedIn(h.openIncident))
	mux.HandleFunc("POST /admin/incidents/{id}/updates", h.signedIn(h.updateIncident))
	mux.HandleFunc("GET /admin/audit", h.signedIn(h.auditPage))
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Not found", http.StatusNotFound)
	})
	h.mux = mux
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.mux.ServeHTTP(w, r)
}

// ---- sessions ----

// session is what the encrypted cookie holds.
type session struct {
	Cred string `json:"c"` // the admin token or API key the operator signed in with
	Exp  int64  `json:"e"` // unix seconds
	ID   string `json:"i"` // random, binds the CSRF token
}

type ctxKey int

const (
	ctxSession ctxKey = iota
	ctxCaller
)

func (h *Handler) seal(s session) string {
	plain, _ := json.Marshal(s)
	nonce := make([]byte, h.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(h.aead.Seal(nonce, nonce, plain, []byte(cookieName)))
}

func (h *Handler) open(v string) (session, bool) {
	var s session
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < h.aead.NonceSize() {
		return s, false
	}
	plain, err := h.aead.Open(nil, raw[:h.aead.NonceSize()], raw[h.aead.NonceSize():], []byte(cookieName))
	if err != nil || json.Unmarshal(plain, &s) != nil {
		return s, false
	}
	return s, h.cfg.Now().Unix() < s.Exp
}

// check is the one place that turns a credential into a caller: the API's
// own check, so the console accepts exactly what the API accepts.
func (h *Handler) check(ctx context.Context, cred string) (floodgate.Caller, error) {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/audit", nil)
	r.Header.Set("Authorization", "Bearer "+cred)
	return h.cfg.API.Caller(r)
}

// signedIn requires a live session; state-changing requests also need the
// session's CSRF token and a same-origin Origin when the browser sends one.
func (h *Handler) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		var s session
		ok := err == nil
		if ok {
			s, ok = h.open(c.Value)
		}
		var caller floodgate.Caller
		if ok {
			caller, err = h.check(r.Context(), s.Cred)
			ok = err == nil
		}
		if !ok {
			h.clearCookie(w, r)
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
				to := "/admin/login?next=" + url.QueryEscape(r.URL.RequestURI())
				if c != nil { // a session that ended, not a first visit
					to += "&ended=1"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			http.Error(w, "Your console session has ended; sign in again.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			// A form may be as large as a body the API takes (a drop's
			// vouchers), no larger: one over it is refused as it arrives,
			// not read up to the 10 MB net/http would hold in memory.
			if !readForm(w, r, api.MaxBody, "This form is over 1 MiB; send a smaller one, or use the API.") {
				return
			}
			if !h.sameOrigin(r) || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(h.csrf(s))) {
				http.Error(w, "This form is out of date or came from another site; reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		ctx := context.WithValue(r.Context(), ctxSession, s)
		ctx = context.WithValue(ctx, ctxCaller, caller)
		next(w, r.WithContext(ctx))
	}
}

func (h *Handler) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (h *Handler) csrf(s session) string {
	m := hmac.New(sha256.New, h.mac)
	m.Write([]byte(s.ID))
	return hex.EncodeToString(m.Sum(nil))
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/admin", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// secure tells whether cookies get the Secure flag: always with
// Config.Secure, else when the request came over TLS (directly or through a
// proxy that says so).
// loopbackOnly are the proxies believed for X-Forwarded-Proto when
// Config.Trusted is nil.
var loopbackOnly = clientaddr.NewTrusted(nil)

func (h *Handler) secure(r *http.Request) bool {
	trusted := h.cfg.Trusted
	if trusted == nil {
		trusted = loopbackOnly
	}
	return h.cfg.Secure || trusted.Proto(r) == "https"
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) { h.setCookie(w, r, "", -1) }

func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(ctxSession).(session)
	return s
}

func callerOf(r *http.Request) floodgate.Caller {
	c, _ := r.Context().Value(ctxCaller).(floodgate.Caller)
	return c
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "login", http.StatusOK, map[string]any{"Next": safeNext(r.URL.Query().Get("next")),
		"Needed": r.URL.Query().Get("next") != "", "Expired": r.URL.Query().Get("ended") == "1"})
}

func safeNext(n string) string {
	if !strings.HasPrefix(n, "/admin") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\r\n") {
		return "/admin/"
	}
	return n
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r, 64<<10, "This sign-in form is over 64 KiB; a token is far shorter.") {
		return
	}
	if !h.sameOrigin(r) {
		http.Error(w, "Sign in from the console's own page.", http.StatusForbidden)
		return
	}
	cred := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	if cred == "" {
		h.render(w, r, "login", http.StatusBadRequest, map[string]any{"Next": next, "Error": "token_required"})
		return
	}
	if !h.allowSignIn(r) {
		w.Header().Set("Retry-After", "60")
		h.render(w, r, "login", http.StatusTooManyRequests, map[string]any{"Next": next, "Error": "too_many_tries"})
		return
	}
	if _, err := h.check(r.Context(), cred); err != nil {
		h.failedSignIn(r)
		h.log.Info("console sign-in refused", "ip", h.addrOf(r))
		h.render(w, r, "login", http.StatusUnauthorized, map[string]any{"Next": next, "Error": "token_wrong"})
		return
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	s := session{Cred: cred, Exp: h.cfg.Now().Add(h.cfg.SessionTTL).Unix(), ID: hex.EncodeToString(id)}
	h.setCookie(w, r, h.seal(s), int(h.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// readForm reads a posted form of at most limit bytes, refused as it
// arrives rather than read up to the 10 MB net/http would hold in memory:
// over it the answer is 413 with tooLarge, unreadable 400; it reports
// whether the form was read.
func readForm(w http.ResponseWriter, r *http.Request, limit int64, tooLarge string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := r.ParseForm()
	if err == nil {
		return true
	}
	var over *http.MaxBytesError
	if errors.As(err, &over) {
		http.Error(w, tooLarge, http.StatusRequestEntityTooLarge)
		return false
	}
	http.Error(w, "This form could not be read; reload the page and try again.", http.StatusBadRequest)
	return false
}

// addrOf is the operator's address as the sign-in limit counts it: behind
// a trusted proxy, the forwarded one, so that operators behind one proxy do
// not share one budget of wrong tries; IPv6 per /64.
func (h *Handler) addrOf(r *http.Request) string {
	return clientaddr.Group(h.cfg.Trusted.Of(r)).String()
}

// allowSignIn refuses an address that gave maxFails wrong tokens within the
// last minute: the admin token cannot be guessed one form post at a time.
func (h *Handler) allowSignIn(r *http.Request) bool {
	h.failMu.Lock()
	defer h.failMu.Unlock()
	f := h.fails[h.addrOf(r)]
	return f == nil || h.cfg.Now().Sub(f.since) > time.Minute || f.n < maxFails
}

func (h *Handler) failedSignIn(r *http.Request) {
	h.failMu.Lock()
	defer h.failMu.Unlock()
	now := h.cfg.Now()
	if len(h.fails) > 10_000 {
		for k, f := range h.fails {
			if now.Sub(f.since) > time.Minute {
				delete(h.fails, k)
			}
		}
	}
	a := h.addrOf(r)
	f := h.fails[a]
	if f == nil || now.Sub(f.since) > time.Minute {
		f = &failCount{since: now}
		h.fails[a] = f
	}
	f.n++
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	h.clearCookie(w, r)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// ---- calling the API ----

// call sends one request to the JSON API in-process with the operator's
// credential, and decodes the answer into out. An error answer is read as
// every client of the API reads it.
func (h *Handler) call(r *http.Request, method, path string, in, out any) (int, *client.Error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(r.Context(), method, path, body)
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	if v := r.Header.Get("X-Forwarded-For"); v != "" {
		req.Header.Set("X-Forwarded-For", v)
	}
	req.Header.Set("Authorization", "Bearer "+sessionOf(r).Cred)
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.cfg.API.ServeHTTP(rec, req)
	if rec.status >= 300 {
		e := client.ParseError(&client.Response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()})
		if e.Code == "" {
			e.Code, e.Message = "internal", "The server answered "+strconv.Itoa(rec.status)+"."
		}
		return rec.status, e
	}
	if out != nil {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return http.StatusInternalServerError, &client.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "The answer did not decode: " + err.Error()}
		}
	}
	return rec.status, nil
}

// recorder keeps an in-process answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// fieldOf finds which form field an API message is about: the first
// quoted name in it that is one of fields.
var quotedRE = regexp.MustCompile(`"([a-z_]+)"`)

func fieldOf(msg string, fields ...string) string {
	for _, m := range quotedRE.FindAllStringSubmatch(msg, -1) {
		for _, f := range fields {
			if m[1] == f {
				return f
			}
		}
	}
	return ""
}

// ---- pages ----

func (h *Handler) visibleDrops(r *http.Request) []fhttp.LiveView {
	c := callerOf(r)
	var out []fhttp.LiveView
	for _, d := range h.cfg.API.Drops() {
		if lv, err := h.cfg.API.Live(c, d.ID); err == nil {
			out = append(out, lv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Drop.StartsAt.After(out[j].Drop.StartsAt) })
	return out
}

func (h *Handler) dropsPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "drops", http.StatusOK, map[string]any{"Drops": h.visibleDrops(r)})
}

// dropForm is the create form's fields as typed.
type dropForm struct {
	ID, Name, Price, Currency, Stock, PerCustomerLimit, StartsAt, HoldSeconds, AdmitPerSecond, Vouchers string
}

func (h *Handler) newDropForm(w http.ResponseWriter, r *http.Request) {
	f := dropForm{Currency: "KRW", PerCustomerLimit: "1", HoldSeconds: "300", AdmitPerSecond: "200",
		StartsAt: h.cfg.Now().Add(10 * time.Minute).UTC().Format("2006-01-02T15:04")}
	h.render(w, r, "new", http.StatusOK, map[string]any{"Form": f, "Errors": map[string]string{}})
}

func (h *Handler) createDrop(w http.ResponseWriter, r *http.Request) {
	f := dropForm{
		ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Price: r.PostFormValue("price"), Currency: strings.TrimSpace(r.PostFormValue("currency")),
		Stock: r.PostFormValue("stock"), PerCustomerLimit: r.PostFormValue("per_customer_limit"),
		StartsAt: r.PostFormValue("starts_at"), HoldSeconds: r.PostFormValue("hold_seconds"),
		AdmitPerSecond: r.PostFormValue("admit_per_second"), Vouchers: r.PostFormValue("vouchers"),
	}
	errs := map[string]string{}
	body := map[string]any{"id": f.ID, "name": f.Name}
	if f.Currency != "" {
		body["currency"] = f.Currency
	}
	num := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(v, ",", "")), 10, 64)
		if err != nil {
			errs[field] = "not_a_number"
			return
		}
		body[field] = n
	}
	num("price", f.Price)
	num("stock", f.Stock)
	num("per_customer_limit", f.PerCustomerLimit)
	num("hold_seconds", f.HoldSeconds)
	num("admit_per_second", f.AdmitPerSecond)
	if s := strings.TrimSpace(f.StartsAt); s != "" {
		t, err := parseLocalTime(s, r.PostFormValue("tz_offset"))
		if err != nil {
			errs["starts_at"] = "bad_time"
		} else {
			body["starts_at"] = t.UTC().Format(time.RFC3339)
		}
	}
	if v := strings.Fields(f.Vouchers); len(v) > 0 {
		body["vouchers"] = v
	}
	if len(errs) == 0 {
		var d floodgate.Drop
		status, e := h.call(r, http.MethodPost, "/api/v1/drops", body, &d)
		if e == nil {
			http.Redirect(w, r, "/admin/drops/"+url.PathEscape(d.ID), http.StatusSeeOther)
			return
		}
		field := fieldOf(e.Message, "id", "name", "price", "currency", "stock", "per_customer_limit", "starts_at", "hold_seconds", "admit_per_second", "vouchers")
		if field == "" {
			field = "_form"
		}
		errs[field] = "api:" + e.Message
		h.render(w, r, "new", status, map[string]any{"Form": f, "Errors": errs})
		return
	}
	h.render(w, r, "new", http.StatusBadRequest, map[string]any{"Form": f, "Errors": errs})
}

// parseLocalTime reads a datetime-local value in the browser's offset
// (minutes east of UTC, sent by the page), or RFC 3339.
func parseLocalTime(s, offset string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		return t, err
	}
	if off, err := strconv.Atoi(offset); err == nil && off > -24*60 && off < 24*60 {
		t = t.Add(-time.Duration(off) * time.Minute)
	}
	return t, nil
}

func (h *Handler) livePage(w http.ResponseWriter, r *http.Request) {
	h.renderLive(w, r, http.StatusOK, map[string]string{}, "")
}

func (h *Handler) renderLive(w http.ResponseWriter, r *http.Request, status int, errs map[string]string, notice string) {
	id := r.PathValue("drop")
	lv, err := h.cfg.API.Live(callerOf(r), id)
	if err != nil {
		h.render(w, r, "notfound", http.StatusNotFound, map[string]any{"ID": id})
		return
	}
	data := map[string]any{
		"Live": lv, "Errors": errs, "Notice": notice,
		"Charts":   liveCharts(lv, pages.Lang(r)),
		"Audit":    h.cfg.API.Audit(callerOf(r), id, 0, 10),
		"LiveJSON": jsonJS(lv),
	}
	h.render(w, r, "live", status, data)
}

// control applies one of the live page's forms through the API.
func (h *Handler) control(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("drop")
	path := "/api/v1/drops/" + url.PathEscape(id)
	var (
		status int
		e      *client.Error
		notice string
	)
	switch r.PathValue("action") {
	case "pause":
		status, e = h.call(r, http.MethodPost, path+"/pause", map[string]string{"reason": r.PostFormValue("reason")}, nil)
		notice = "notice_paused"
	case "resume":
		status, e = h.call(r, http.MethodPost, path+"/resume", nil, nil)
		notice = "notice_resumed"
	case "close":
		if r.PostFormValue("confirm") != id {
			h.renderLive(w, r, http.StatusBadRequest, map[string]string{"confirm": "confirm_id"}, "")
			return
		}
		status, e = h.call(r, http.MethodPost, path+"/close", nil, nil)
		notice = "notice_closed"
	case "update":
		body := map[string]any{}
		errs := map[string]string{}
		for _, f := range []string{"stock", "admit_per_second", "hold_seconds"} {
			if v := strings.TrimSpace(r.PostFormValue(f)); v != "" {
				n, err := strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 64)
				if err != nil {
					errs[f] = "not_a_number"
					continue
				}
				body[f] = n
			}
		}
		if v := strings.TrimSpace(r.PostFormValue("name")); v != "" {
			body["name"] = v
		}
		if v := strings.TrimSpace(r.PostFormValue("ends_at")); v != "" {
			t, err := parseLocalTime(v, r.PostFormValue("tz_offset"))
			if err != nil {
				errs["ends_at"] = "bad_time"
			} else {
				body["ends_at"] = t.UTC().Format(time.RFC3339)
			}
		}
		if len(errs) > 0 {
			h.renderLive(w, r, http.StatusBadRequest, errs, "")
			return
		}
		status, e = h.call(r, http.MethodPatch, path, body, nil)
		notice = "notice_updated"
	default:
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if e != nil {
		field := fieldOf(e.Message, "stock", "admit_per_second", "hold_seconds", "ends_at", "name", "reason")
		if field == "" {
			field = "_form"
		}
		h.renderLive(w, r, status, map[string]string{field: "api:" + e.Message}, "")
		return
	}
	http.Redirect(w, r, "/admin/drops/"+url.PathEscape(id)+"?done="+notice, http.StatusSeeOther)
}

// liveEvents streams the live view every second as server-sent events.
func (h *Handler) liveEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("drop")
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	if _, err := h.cfg.API.Live(callerOf(r), id); err != nil {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	exp := time.Unix(sessionOf(r).Exp, 0)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	_, _ = io.WriteString(w, "retry: 2000\n\n")
	for {
		lv, err := h.cfg.API.Live(callerOf(r), id)
		if err != nil {
			return
		}
		b, _ := json.Marshal(lv)
		if _, err := io.WriteString(w, "data: "+string(b)+"\n\n"); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		if h.cfg.Now().After(exp) {
			_, _ = io.WriteString(w, "event: expired\ndata: {}\n\n")
			fl.Flush()
			return
		}
	}
}

func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request) {
	rep, err := h.cfg.API.Report(callerOf(r), r.PathValue("drop"))
	if err != nil {
		h.render(w, r, "notfound", http.StatusNotFound, map[string]any{"ID": r.PathValue("drop")})
		return
	}
	h.render(w, r, "report", http.StatusOK, map[string]any{"Report": rep, "Charts": reportCharts(rep, pages.Lang(r))})
}

func (h *Handler) reportJSON(w http.ResponseWriter, r *http.Request) {
	rep, err := h.cfg.API.Report(callerOf(r), r.PathValue("drop"))
	if err != nil {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rep.Drop+`-report.json"`)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (h *Handler) ordersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	orders, err := h.cfg.API.Orders(callerOf(r), r.PathValue("drop"), q)
	if err != nil {
		h.render(w, r, "notfound", http.StatusNotFound, map[string]any{"ID": r.PathValue("drop")})
		return
	}
	total := len(orders)
	const pageSize = 500
	if len(orders) > pageSize {
		orders = orders[len(orders)-pageSize:]
	}
	h.render(w, r, "orders", http.StatusOK, map[string]any{"Drop": r.PathValue("drop"), "Q": q, "Orders": orders, "Total": total, "Shown": len(orders)})
}

func (h *Handler) ordersCSV(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	orders, err := h.cfg.API.Orders(callerOf(r), drop, r.URL.Query().Get("q"))
	if err != nil {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	fhttp.WriteOrdersCSV(w, drop, orders)
}

func (h *Handler) incidentsPage(w http.ResponseWriter, r *http.Request) {
	h.renderIncidents(w, r, http.StatusOK, map[string]string{}, "")
}

func (h *Handler) renderIncidents(w http.ResponseWriter, r *http.Request, code int, errs map[string]string, notice string) {
	var list struct {
		Incidents []status.Incident `json:"incidents"`
	}
	_, e := h.call(r, http.MethodGet, "/api/v1/incidents", nil, &list)
	if e != nil {
		errs["_list"] = "api:" + e.Message
	}
	var drops []string
	for _, d := range h.visibleDrops(r) {
		drops = append(drops, d.Drop.ID)
	}
	// Incidents are the platform's: a maker's key reads them, and the API
	// refuses its changes, so its page shows no forms to fill in vain.
	h.render(w, r, "incidents", code, map[string]any{"Incidents": list.Incidents, "Errors": errs, "Notice": notice, "Drops": drops, "CanChange": callerOf(r).Root})
}

func (h *Handler) openIncident(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	body := map[string]any{
		"name": strings.TrimSpace(r.PostFormValue("name")), "status": r.PostFormValue("status"),
		"impact": r.PostFormValue("impact"), "message": strings.TrimSpace(r.PostFormValue("message")),
		"components": r.PostForm["components"],
	}
	if r.PostForm["components"] == nil {
		body["components"] = []string{}
	}
	var in status.Incident
	code, e := h.call(r, http.MethodPost, "/api/v1/incidents", body, &in)
	if e != nil {
		field := fieldOf(e.Message, "name", "status", "impact", "message", "components")
		if field == "" {
			field = "_form"
		}
		h.renderIncidents(w, r, code, map[string]string{field: "api:" + e.Message}, "")
		return
	}
	h.note(r, "incident.open", in.ID, in.Name)
	http.Redirect(w, r, "/admin/incidents?done=notice_incident_opened", http.StatusSeeOther)
}

func (h *Handler) updateIncident(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body := map[string]any{"status": r.PostFormValue("status"), "message": strings.TrimSpace(r.PostFormValue("message"))}
	status, e := h.call(r, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(id)+"/updates", body, nil)
	if e != nil {
		h.renderIncidents(w, r, status, map[string]string{"update_" + id: "api:" + e.Message}, "")
		return
	}
	action := "incident.update"
	if body["status"] == "resolved" {
		action = "incident.resolve"
	}
	h.note(r, action, id, r.PostFormValue("status")+": "+r.PostFormValue("message"))
	http.Redirect(w, r, "/admin/incidents?done=notice_incident_updated", http.StatusSeeOther)
}

// note writes a change made outside the sale state to the audit log.
func (h *Handler) note(r *http.Request, action, target, detail string) {
	req := r.WithContext(fhttp.WithCaller(r.Context(), callerOf(r)))
	if err := h.cfg.API.AuditNote(r.Context(), req, action, target, detail); err != nil {
		h.log.Warn("audit note not written", "action", action, "target", target, "err", err)
	}
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) {
	var before uint64
	if v, err := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64); err == nil {
		before = v
	}
	entries := h.cfg.API.Audit(callerOf(r), r.URL.Query().Get("target"), before, 200)
	next := uint64(0)
	if len(entries) == 200 {
		next = entries[len(entries)-1].Seq
	}
	h.render(w, r, "audit", http.StatusOK, map[string]any{"Entries": entries, "Target": r.URL.Query().Get("target"), "Next": next})
}
