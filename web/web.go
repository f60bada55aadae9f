package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/internal/clientaddr"
	"github.com/floodgate/floodgate/internal/defaults"
	"github.com/floodgate/floodgate/internal/pages"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DropReader reads a drop for server-side rendering of its name, price and
// start. The core implements it.
type DropReader interface {
	Drop(ctx context.Context, id string) (floodgate.Drop, error)
}

// DropLister is optional: when the DropReader also lists drops, the index
// page links them.
type DropLister interface {
	Drops() []floodgate.Drop
}

// Config configures the buyer pages.
type Config struct {
	Drops    DropReader
	Sessions *identity.Sessions
	// Provider signs buyers in; nil means no login is configured.
	Provider identity.Provider
	Dev      bool
	Logger   *slog.Logger
	// CookieKey signs the short-lived login cookies. Every node behind one
	// address needs the same key; empty means a random key per process
	// (logins that straddle a restart then have to be started again).
	CookieKey []byte
	// DefaultDrop, when set, is where the index page sends buyers.
	DefaultDrop string
	// SessionTTL is how long the session cookie is kept;
	// identity.DefaultSessionTTL by default.
	// It should match the lifetime the Sessions were made with.
	SessionTTL time.Duration
	// Trusted are the proxies whose X-Forwarded-Proto: https makes the
	// cookies Secure (a request over TLS always does); loopback by default.
	Trusted clientaddr.Trusted
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Handler serves the buyer pages: GET /, GET /d/{drop}, the login flow
// (/login, /login/dev, /auth/callback, /auth/health, /logout) and /static/.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	pages    pages.Set
	replay   *identity.ReplayGuard
	assetVer string
}

var _ http.Handler = (*Handler)(nil)

// New returns the buyer pages' handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Drops == nil {
		return nil, errors.New("web: Config.Drops is required")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("web: Config.Sessions is required")
	}
	defaults.Logging(&cfg.Logger, &cfg.Now)
	defaults.Positive(&cfg.SessionTTL, identity.DefaultSessionTTL)
	if cfg.Trusted == nil {
		cfg.Trusted = clientaddr.NewTrusted(nil)
	}
	if len(cfg.CookieKey) == 0 {
		cfg.CookieKey = make([]byte, 32)
		if _, err := rand.Read(cfg.CookieKey); err != nil {
			return nil, err
		}
	}
	h := &Handler{cfg: cfg, log: cfg.Logger.With("component", "web"), replay: identity.NewReplayGuard()}
	ver, err := assetVersion()
	if err != nil {
		return nil, err
	}
	h.assetVer = ver
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.index)
	mux.HandleFunc("GET /d/{drop}", h.dropPage)
	mux.HandleFunc("GET /d/{drop}/brand.css", h.brandCSS)
	mux.HandleFunc("GET /login", h.login)
	mux.HandleFunc("GET "+identity.DevLoginPath, h.devLoginForm)
	mux.HandleFunc("POST "+identity.DevLoginPath, h.devLoginSubmit)
	mux.HandleFunc("GET /auth/callback", h.callback)
	mux.HandleFunc("GET /auth/health", h.health)
	mux.HandleFunc("POST /logout", h.logout)
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Asset URLs carry a content hash, so they may be cached for long.
		if r.URL.Query().Get("v") == h.assetVer {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fileServer.ServeHTTP(w, r)
	}))
	h.mux = mux
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp(""))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func assetVersion() (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		sum.Write(b)
		return err
	})
	return hex.EncodeToString(sum.Sum(nil))[:12], err
}

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"t":    func(lang, key string, kv ...string) string { return T(lang, key, kv...) },
		"itoa": func(n int64) string { return strconv.FormatInt(n, 10) },
	}
	var err error
	h.pages, err = pages.Parse(templateFS, funcs, "drop", "index", "devlogin", "message")
	return err
}

// pageData is what every page template gets.
type pageData struct {
	Lang      string
	Title     string
	AssetVer  string
	LangURL   string // the same page in the other language
	Drop      *dropView
	Drops     []dropView
	Messages  template.JS
	Customer  string
	LoginURL  string
	Return    string
	State     string
	Email     string
	Error     string
	Heading   string
	Text      string
	BackURL   string
	Banner    string
	BannerErr bool
	NowUnixMS int64
	Status    int
	IDPDown   bool
	Dev       bool
	Brand     *brandView // a partner maker's drop (brand.go)
}

type dropView struct {
	floodgate.Drop
	PriceText    string
	StartsAtText string
	StartsAtISO  string
	StartsUnixMS int64
	StateText    string
	HoldMinutes  int64
	// EntryEndsUnixMS is when a draw's entries close (0: not a draw).
	EntryEndsUnixMS int64
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, page string, status int, d *pageData) {
	d.AssetVer = h.assetVer
	// The development bar warns that anyone can sign in; with a real
	// provider configured that is not true, even with --dev.
	_, d.Dev = h.cfg.Provider.(*identity.Dev)
	q := r.URL.Query()
	q.Set("lang", T(d.Lang, "other_lang_code"))
	d.LangURL = r.URL.Path + "?" + q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language, Cookie")
	h.pages.Write(w, h.log, page, status, d, "The page could not be shown; reload in a moment.")
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, lang, heading, text, back string) {
	h.render(w, r, "message", status, &pageData{Lang: lang, Title: heading, Heading: heading, Text: text, BackURL: back})
}

func (h *Handler) view(lang string, d floodgate.Drop) dropView {
	var entryEnds int64
	if d.EntryEndsAt != nil {
		entryEnds = d.EntryEndsAt.UnixMilli()
	}
	return dropView{
		EntryEndsUnixMS: entryEnds,
		Drop:            d,
		PriceText:       formatPrice(lang, d.Price, d.Currency),
		StartsAtText:    formatTime(lang, d.StartsAt),
		StartsAtISO:     d.StartsAt.UTC().Format(time.RFC3339),
		StartsUnixMS:    d.StartsAt.UnixMilli(),
		StateText:       T(lang, "state_"+d.State),
		HoldMinutes:     (d.HoldSeconds + 59) / 60,
	}
}

// dropIDPattern is what a drop id in a URL may look like; anything else is
// not looked up at all.
var dropIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	if h.cfg.DefaultDrop != "" {
		http.Redirect(w, r, "/d/"+h.cfg.DefaultDrop, http.StatusSeeOther)
		return
	}
	d := &pageData{Lang: lang, Title: T(lang, "index_title")}
	if l, ok := h.cfg.Drops.(DropLister); ok {
		drops := l.Drops()
		sort.Slice(drops, func(i, j int) bool { return drops[i].StartsAt.Before(drops[j].StartsAt) })
		for _, dr := range drops {
			d.Drops = append(d.Drops, h.view(lang, dr))
		}
	}
	h.render(w, r, "index", http.StatusOK, d)
}

func (h *Handler) dropPage(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	id := r.PathValue("drop")
	if !dropIDPattern.MatchString(id) {
		h.message(w, r, http.StatusNotFound, lang, T(lang, "not_found_title"), T(lang, "not_found"), "/")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	drop, err := h.cfg.Drops.Drop(ctx, id)
	if err != nil {
		if floodgate.ErrorCode(err) == floodgate.ENotFound {
			h.message(w, r, http.StatusNotFound, lang, T(lang, "not_found_title"), T(lang, "not_found"), "/")
			return
		}
		h.log.Warn("reading a drop for its page failed", "drop", id, "err", err)
		w.Header().Set("Retry-After", "2")
		h.message(w, r, http.StatusServiceUnavailable, lang, T(lang, "not_found_title"), T(lang, "load_error"), r.URL.Path)
		return
	}
	v := h.view(lang, drop)
	d := &pageData{Lang: lang, Title: drop.Name, Drop: &v, NowUnixMS: h.cfg.Now().UnixMilli()}
	if d.Brand, _ = h.brand(ctx, id); d.Brand != nil && d.Brand.origin != "" {
		w.Header().Set("Content-Security-Policy", csp(d.Brand.origin))
	}
	if h.cfg.Provider != nil {
		d.LoginURL = "/login?" + urlValues("return", "/d/"+id)
		d.IDPDown = h.cfg.Provider.Down()
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if customer, err := h.cfg.Sessions.Verify(c.Value, h.cfg.Now()); err == nil {
			d.Customer = customer
		}
	}
	switch r.URL.Query().Get("login") {
	case "unavailable":
		d.Banner, d.BannerErr = T(lang, "idp_down"), true
	case "failed":
		d.Banner, d.BannerErr = T(lang, "login_failed"), true
	case "denied":
		d.Banner = T(lang, "login_denied")
	}
	d.Messages = scriptMessages(lang)
	h.render(w, r, "drop", http.StatusOK, d)
}

// scriptMessages is the page's sentences as a JSON object for the script.
func scriptMessages(lang string) template.JS {
	m := make(map[string]string, len(messages["en"]))
	for k := range messages["en"] {
		m[k] = T(lang, k)
	}
	b, _ := json.Marshal(m)
	// json.Marshal escapes <, > and & so the object cannot end the script
	// element it is written into.
	return template.JS(b)
}
