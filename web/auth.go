package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/identity"
)

const (
	sessionCookie   = identity.SessionCookie
	loginCookiePref = "fg_login_"
	// loginTTL is how long a started sign-in may take.
	loginTTL = 10 * time.Minute
)

// isHTTPS tells whether the buyer reached us over TLS, directly or through
// a trusted proxy; a client's own X-Forwarded-Proto is not believed.
func (h *Handler) isHTTPS(r *http.Request) bool {
	return h.cfg.Trusted.Proto(r) == "https"
}

func urlValues(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// SafeReturn returns raw when it is a path on this site, and "/" otherwise.
// Only absolute paths are kept: no scheme, no host, no "//" or "/\" (which
// browsers read as another host), no control characters. This is what stops
// a login link from sending a buyer to another site afterwards.
func SafeReturn(raw string) string {
	if raw == "" || len(raw) > 512 || raw[0] != '/' {
		return "/"
	}
	if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
		return "/"
	}
	for _, c := range raw {
		if unicode.IsControl(c) || c == '\\' || unicode.IsSpace(c) {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	// What is returned is checked, not only what came in: a path whose
	// escaping url.Parse does not keep is escaped again, and "/%2F\"" comes
	// out as "//%22", which a browser reads as another host.
	out := u.RequestURI()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
		return "/"
	}
	return out
}

// withQuery adds key=value to the query of a local path.
func withQuery(path, key, value string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// loginFlow is kept in a signed cookie between /login and /auth/callback.
type loginFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	Expires  int64  `json:"e"`
}

func (h *Handler) sign(payload string) string {
	m := hmac.New(sha256.New, h.cfg.CookieKey)
	m.Write([]byte("floodgate login flow\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) encodeFlow(f loginFlow) string {
	b, _ := json.Marshal(f)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + h.sign(p)
}

// decodeFlow returns the flow in a cookie value if its signature is ours.
func (h *Handler) decodeFlow(v string) (loginFlow, bool) {
	var f loginFlow
	p, sig, ok := strings.Cut(v, ".")
	if !ok || len(v) > 2048 || !hmac.Equal([]byte(sig), []byte(h.sign(p))) {
		return f, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &f) != nil || f.State == "" {
		return f, false
	}
	return f, true
}

// loginCookieName is per login attempt, so that two tabs signing in at
// once do not overwrite each other's flow.
func loginCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return loginCookiePref + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// login starts a sign-in and remembers where to come back to. A provider
// that is down sends the buyer straight back with a banner: the hold stays
// and its clock is paused.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	ret := SafeReturn(r.URL.Query().Get("return"))
	if h.cfg.Provider == nil {
		h.message(w, r, http.StatusNotFound, lang, T(lang, "login_bad_title"), T(lang, "login_off"), ret)
		return
	}
	f := identity.NewFlow()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	target, err := h.cfg.Provider.AuthCodeURL(ctx, f)
	if err != nil {
		h.log.Warn("sign-in not started: provider unavailable", "err", err)
		http.Redirect(w, r, withQuery(ret, "login", "unavailable"), http.StatusSeeOther)
		return
	}
	flow := loginFlow{State: f.State, Nonce: f.Nonce, Verifier: f.Verifier, Return: ret,
		Expires: h.cfg.Now().Add(loginTTL).Unix()}
	http.SetCookie(w, &http.Cookie{
		Name: loginCookieName(f.State), Value: h.encodeFlow(flow), Path: "/auth/callback",
		MaxAge: int(loginTTL / time.Second), HttpOnly: true, Secure: h.isHTTPS(r),
		// Lax: the provider's redirect back is a top-level GET, which
		// carries Lax cookies; cross-site subrequests do not.
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// callback finishes a sign-in: the state must match a flow cookie this
// browser holds, not used before and not expired; then the provider turns
// the code into a buyer, and a session cookie is set. Every failure leaves
// the ticket and the hold alone and says how to go on.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	q := r.URL.Query()
	state := q.Get("state")
	bad := func(reason string) {
		h.log.Info("sign-in callback refused", "reason", reason)
		h.message(w, r, http.StatusBadRequest, lang, T(lang, "login_bad_title"), T(lang, "login_bad"), "/")
	}
	if state == "" || len(state) > 256 || h.cfg.Provider == nil {
		bad("no state")
		return
	}
	name := loginCookieName(state)
	c, err := r.Cookie(name)
	if err != nil {
		bad("no flow cookie for this state (replayed, expired, or another browser)")
		return
	}
	flow, ok := h.decodeFlow(c.Value)
	if !ok || !hmac.Equal([]byte(flow.State), []byte(state)) {
		bad("flow cookie tampered or for another state")
		return
	}
	now := h.cfg.Now()
	expires := time.Unix(flow.Expires, 0)
	if now.After(expires) {
		bad("flow expired")
		return
	}
	// The flow is spent whatever happens next: clear its cookie and
	// remember its state, so the same callback cannot be used twice.
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/auth/callback", MaxAge: -1, HttpOnly: true, Secure: h.isHTTPS(r), SameSite: http.SameSiteLaxMode})
	if !h.replay.Use(state, expires, now) {
		bad("state used before")
		return
	}
	ret := SafeReturn(flow.Return)
	if e := q.Get("error"); e != "" {
		reason := "failed"
		if e == "access_denied" {
			reason = "denied"
		}
		http.Redirect(w, r, withQuery(ret, "login", reason), http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	buyer, err := h.cfg.Provider.Exchange(ctx, q.Get("code"), identity.Flow{State: flow.State, Nonce: flow.Nonce, Verifier: flow.Verifier})
	if err != nil {
		reason := "failed"
		if floodgate.ErrorCode(err) == floodgate.EUnavailable {
			reason = "unavailable"
		}
		h.log.Warn("sign-in exchange failed", "err", err, "reason", reason)
		http.Redirect(w, r, withQuery(ret, "login", reason), http.StatusSeeOther)
		return
	}
	token, err := h.cfg.Sessions.Issue(buyer.Customer, h.cfg.Provider.Name(), now)
	if err != nil {
		h.log.Error("issuing a session failed", "err", err)
		http.Redirect(w, r, withQuery(ret, "login", "failed"), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: int(h.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: h.isHTTPS(r), SameSite: http.SameSiteLaxMode})
	h.log.Info("buyer signed in", "provider", h.cfg.Provider.Name())
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (h *Handler) devLoginForm(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	if _, ok := h.cfg.Provider.(*identity.Dev); !ok {
		h.message(w, r, http.StatusNotFound, lang, T(lang, "login_bad_title"), T(lang, "login_off"), "/")
		return
	}
	h.render(w, r, "devlogin", http.StatusOK, &pageData{Lang: lang, Title: T(lang, "dev_login_title"), State: r.URL.Query().Get("state")})
}

// devLoginSubmit checks the email, then continues like any provider: to
// the callback with the email as the code.
func (h *Handler) devLoginSubmit(w http.ResponseWriter, r *http.Request) {
	lang := h.pickLang(w, r)
	if _, ok := h.cfg.Provider.(*identity.Dev); !ok {
		h.message(w, r, http.StatusNotFound, lang, T(lang, "login_bad_title"), T(lang, "login_off"), "/")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, lang, T(lang, "login_bad_title"), T(lang, "login_bad"), "/")
		return
	}
	state, email := r.PostForm.Get("state"), r.PostForm.Get("email")
	if _, err := identity.CheckEmail(email); err != nil {
		h.render(w, r, "devlogin", http.StatusBadRequest, &pageData{Lang: lang, Title: T(lang, "dev_login_title"),
			State: state, Email: email, Error: floodgate.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/auth/callback?"+urlValues("state", state, "code", email), http.StatusSeeOther)
}

// health tells the page whether sign-in works right now, so the outage
// banner comes and goes without a reload.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	body := struct {
		Provider string `json:"provider"`
		Down     bool   `json:"down"`
	}{Provider: "none"}
	if h.cfg.Provider != nil {
		body.Provider, body.Down = h.cfg.Provider.Name(), h.cfg.Provider.Down()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// logout forgets the session (never the ticket: the place in line and the
// hold stay).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.isHTTPS(r), SameSite: http.SameSiteLaxMode})
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	_ = r.ParseForm()
	http.Redirect(w, r, SafeReturn(r.PostForm.Get("return")), http.StatusSeeOther)
}
