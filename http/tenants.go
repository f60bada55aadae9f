package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// Admin calls are made by a Caller: the root admin token, or an API key of
// one tenant with a role. Caller is the one place that resolves it; admin()
// wraps every admin route with it, refuses roles below the route's Access,
// and puts the caller in the request's context for the handler (CallerOf).
// Handlers then answer 404 not_found for objects of other tenants.

const ctxCaller ctxKey = 100

// keyUseInterval is the most often one key's last use is written to the log.
const keyUseInterval = time.Minute

// Caller resolves who makes an admin call from its bearer token: the root
// admin token (compared in constant time), or a tenant's API key that has
// not been revoked (looked up by its id, its SHA-256 compared in constant
// time). Anything else is unauthenticated.
func (s *Server) Caller(r *http.Request) (floodgate.Caller, error) {
	if info, ok := r.Context().Value(ctxRequest).(*requestInfo); ok && info.admin {
		// Checked by the node that forwarded it, or signed by a node.
		return floodgate.Caller{Root: true}, nil
	}
	tok := api.BearerToken(r)
	if tok == "" {
		return floodgate.Caller{}, floodgate.Errorf(floodgate.EUnauthenticated, "This call needs \"Authorization: Bearer <token>\" with the admin token or an API key.")
	}
	if s.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) == 1 {
		return floodgate.Caller{Root: true}, nil
	}
	if c, ok := s.keyCaller(tok); ok {
		return c, nil
	}
	return floodgate.Caller{}, floodgate.Errorf(floodgate.EUnauthenticated, "The token is not the admin token nor an API key that works (revoked keys stop at once).")
}

// keyCaller looks up an API key in the applied state.
func (s *Server) keyCaller(tok string) (floodgate.Caller, bool) {
	id := sale.KeyIDOf(tok)
	if id == "" {
		return floodgate.Caller{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	want := hex.EncodeToString(sum[:])
	var (
		c        floodgate.Caller
		ok       bool
		lastUsed int64
	)
	s.cfg.Store.Read(func(st *sale.State) {
		k := st.Keys[id]
		if k == nil || k.RevokedAt != 0 || st.Tenants[k.Tenant] == nil {
			return
		}
		if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(want)) != 1 {
			return
		}
		c, ok, lastUsed = floodgate.Caller{Tenant: k.Tenant, Role: k.Role, KeyID: k.ID}, true, k.LastUsedAt
	})
	if ok {
		s.keyUses.used(s, id, lastUsed)
	}
	return c, ok
}

// CallerOf returns the caller that admin() resolved for r.
func CallerOf(r *http.Request) floodgate.Caller {
	c, _ := r.Context().Value(ctxCaller).(floodgate.Caller)
	return c
}

// WithCaller returns ctx carrying c, for handlers called outside admin().
func WithCaller(ctx context.Context, c floodgate.Caller) context.Context {
	return context.WithValue(ctx, ctxCaller, c)
}

// admin requires an admin caller whose role allows need. A tenant's key that
// reaches a follower is passed to the leader, which holds the newest keys
// (a revocation answered 204 holds there at once) and counts the key's use.
func (s *Server) admin(need floodgate.Access, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info, _ := r.Context().Value(ctxRequest).(*requestInfo)
		if tok := api.BearerToken(r); strings.HasPrefix(tok, "fgk_") && !s.cfg.Store.IsLeader() && info != nil && !info.forwarded {
			if s.forward.forward(w, r, info) {
				return
			}
			api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "No leader is available to check API keys right now; retry in a moment."), 1)
			return
		}
		c, err := s.Caller(r)
		if err != nil {
			api.WriteError(w, err)
			return
		}
		if !c.Allows(need) {
			api.WriteError(w, forbidden(c, need))
			return
		}
		h(w, r.WithContext(WithCaller(r.Context(), c)))
	}
}

func forbidden(c floodgate.Caller, need floodgate.Access) error {
	switch need {
	case floodgate.AccessRoot:
		return floodgate.Errorf(floodgate.EForbidden, "Only the platform's admin token may do this; a tenant's key cannot.")
	case floodgate.AccessOwn:
		return floodgate.Errorf(floodgate.EForbidden, "This needs an owner key of the tenant; this key's role is %s.", c.Role)
	}
	return floodgate.Errorf(floodgate.EForbidden, "A viewer key can only read; use an operator or owner key to change things.")
}

// notFoundDrop is the answer for a drop that does not exist or that the
// caller does not see: the same, so that ids do not leak.
func notFoundDrop(id string) error {
	return floodgate.Errorf(floodgate.ENotFound, "There is no drop %q.", id)
}

// visibleDrop answers nil when the drop exists and the caller of r sees it,
// and not_found otherwise.
func (s *Server) visibleDrop(r *http.Request, id string) error {
	return s.readDrop(CallerOf(r), id, nil)
}

// readDrop runs read (when not nil) on drop id under the store's read lock
// if caller c may see the drop, and answers not_found when it may not or
// there is none: another tenant's drop is not there for c. It is the one
// place that scopes a drop to its caller.
func (s *Server) readDrop(c floodgate.Caller, id string, read func(st *sale.State, d *sale.Drop)) error {
	ok := false
	s.cfg.Store.Read(func(st *sale.State) {
		d := st.Drops[id]
		if ok = d != nil && c.Sees(d.Tenant); ok && read != nil {
			read(st, d)
		}
	})
	if !ok {
		return notFoundDrop(id)
	}
	return nil
}

// DropTenant returns the tenant of a drop ("" for the platform's), and
// false when there is no such drop. Handlers of other files use it with
// CallerOf(r).Sees to scope what they show.
func (s *Server) DropTenant(id string) (string, bool) {
	var (
		t  string
		ok bool
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if d := st.Drops[id]; d != nil {
			t, ok = d.Tenant, true
		}
	})
	return t, ok
}

// keyUses coalesces the last-used times of keys: every use is kept in
// memory, and a use is written to the log only when the key's last written
// use is a minute old or more, so a busy key costs one Raft write a minute.
type keyUses struct {
	mu      sync.Mutex
	last    map[string]int64 // newest use seen by this node
	written map[string]int64 // newest use sent to the log by this node
}

func (k *keyUses) used(s *Server, id string, stored int64) {
	now := s.cfg.Now().UnixMilli()
	k.mu.Lock()
	if k.last == nil {
		k.last, k.written = map[string]int64{}, map[string]int64{}
	}
	k.last[id] = max(k.last[id], now)
	due := now-max(stored, k.written[id]) >= keyUseInterval.Milliseconds()
	if due {
		k.written[id] = now
	}
	k.mu.Unlock()
	if !due || !s.cfg.Store.IsLeader() {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.apply(ctx, &sale.Command{Kind: sale.KindKeysUsed, Used: []sale.KeyUse{{Key: id, At: now}}}); err != nil {
			s.log.Debug("recording a key's use failed", "key", id, "err", err)
		}
	}()
}

// lastUse returns the newest use of a key this node saw (0: none).
func (k *keyUses) lastUse(id string) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last[id]
}

// tenantRequest is the body of POST /api/v1/tenants.
type tenantRequest struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	MaxDrops          *int64 `json:"max_drops"`
	MaxAdmitPerSecond int64  `json:"max_admit_per_second,omitempty"`
	DisplayName       string `json:"display_name,omitempty"`
	LogoURL           string `json:"logo_url,omitempty"`
	Accent            string `json:"accent,omitempty"`
}

// TenantView is the API view of a tenant.
type TenantView struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	MaxDrops          int64     `json:"max_drops"`
	MaxAdmitPerSecond int64     `json:"max_admit_per_second"`
	Drops             int64     `json:"drops"`
	DisplayName       string    `json:"display_name,omitempty"`
	LogoURL           string    `json:"logo_url,omitempty"`
	Accent            string    `json:"accent,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

func tenantView(st *sale.State, t *sale.Tenant) TenantView {
	return TenantView{
		ID: t.Spec.ID, Name: t.Spec.Name, MaxDrops: t.Spec.MaxDrops, MaxAdmitPerSecond: t.Spec.MaxAdmitPerSecond,
		Drops: st.TenantDrops(t.Spec.ID), DisplayName: t.Spec.DisplayName, LogoURL: t.Spec.LogoURL, Accent: t.Spec.Accent,
		CreatedAt: sale.Time(t.CreatedAt),
	}
}

// KeyView is the API view of a key; the key itself is shown only once, in
// the answer that creates it (NewKeyView).
type KeyView struct {
	ID         string     `json:"id"`
	Tenant     string     `json:"tenant"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewKeyView is the answer of POST /api/v1/tenants/{id}/keys.
type NewKeyView struct {
	KeyView
	Key string `json:"key"`
}

func optTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := sale.Time(ms)
	return &t
}

func (s *Server) keyView(k *sale.APIKey) KeyView {
	return KeyView{
		ID: k.ID, Tenant: k.Tenant, Role: k.Role, CreatedAt: sale.Time(k.CreatedAt), CreatedBy: k.CreatedBy,
		LastUsedAt: optTime(max(k.LastUsedAt, s.keyUses.lastUse(k.ID))), RevokedAt: optTime(k.RevokedAt),
	}
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) {
	var req tenantRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if req.MaxDrops == nil {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"max_drops\" is required: how many drops the tenant may create."))
		return
	}
	spec := &sale.TenantSpec{ID: req.ID, Name: req.Name, MaxDrops: *req.MaxDrops, MaxAdmitPerSecond: req.MaxAdmitPerSecond,
		DisplayName: req.DisplayName, LogoURL: req.LogoURL, Accent: strings.ToLower(req.Accent)}
	if err := sale.ValidTenantSpec(spec); err != nil {
		api.WriteError(w, err)
		return
	}
	res, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindCreateTenant, TenantSpec: spec})
	if err != nil {
		api.WriteError(w, err)
		return
	}
	var v TenantView
	s.cfg.Store.Read(func(st *sale.State) { v = tenantView(st, st.Tenants[spec.ID]) })
	if res.Created {
		s.log.Info("tenant created", "tenant", spec.ID, "by", CallerOf(r).Actor())
	}
	api.WriteCreated(w, res.Created, v)
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) {
	c := CallerOf(r)
	out := []TenantView{}
	s.cfg.Store.Read(func(st *sale.State) {
		for _, t := range st.Tenants {
			if c.Sees(t.Spec.ID) {
				out = append(out, tenantView(st, t))
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	api.WriteJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

// visibleTenant answers not_found for a tenant that does not exist or that
// the caller does not see.
func (s *Server) visibleTenant(r *http.Request, id string) error {
	return s.readTenant(r, id, nil)
}

// readTenant runs read (when not nil) on tenant id under the store's read
// lock if the caller of r sees the tenant, and answers not_found when it
// does not or there is none, as readDrop does for drops.
func (s *Server) readTenant(r *http.Request, id string, read func(t *sale.Tenant)) error {
	c := CallerOf(r)
	ok := false
	s.cfg.Store.Read(func(st *sale.State) {
		t := st.Tenants[id]
		if ok = t != nil && c.Sees(id); ok && read != nil {
			read(t)
		}
	})
	if !ok {
		return floodgate.Errorf(floodgate.ENotFound, "There is no tenant %q.", id)
	}
	return nil
}

type keyRequest struct {
	Role string `json:"role"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("id")
	if err := s.visibleTenant(r, tenant); err != nil {
		api.WriteError(w, err)
		return
	}
	var req keyRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	if !sale.ValidRole(req.Role) {
		api.WriteError(w, floodgate.Errorf(floodgate.EInvalid, "\"role\" must be owner, operator or viewer."))
		return
	}
	var idPart [6]byte
	var secret [24]byte
	if _, err := rand.Read(idPart[:]); err != nil {
		api.WriteError(w, err)
		return
	}
	if _, err := rand.Read(secret[:]); err != nil {
		api.WriteError(w, err)
		return
	}
	id := sale.KeyPrefix(tenant) + hex.EncodeToString(idPart[:])
	key := id + "_" + hex.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(key))
	k := &sale.APIKey{ID: id, Tenant: tenant, Role: req.Role, Hash: hex.EncodeToString(sum[:]), CreatedBy: CallerOf(r).Actor()}
	if _, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindCreateKey, Key: k}); err != nil {
		api.WriteError(w, err)
		return
	}
	var v NewKeyView
	s.cfg.Store.Read(func(st *sale.State) {
		if sk := st.Keys[id]; sk != nil {
			v.KeyView = s.keyView(sk)
		}
	})
	v.Key = key
	s.log.Info("api key created", "key", id, "role", req.Role, "by", CallerOf(r).Actor())
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, v)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("id")
	if err := s.visibleTenant(r, tenant); err != nil {
		api.WriteError(w, err)
		return
	}
	out := []KeyView{}
	s.cfg.Store.Read(func(st *sale.State) {
		for _, k := range st.Keys {
			if k.Tenant == tenant {
				out = append(out, s.keyView(k))
			}
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	api.WriteJSON(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("key_id")
	c := CallerOf(r)
	ok := false
	s.cfg.Store.Read(func(st *sale.State) {
		k := st.Keys[id]
		ok = k != nil && c.Sees(k.Tenant)
	})
	if !ok {
		api.WriteError(w, floodgate.Errorf(floodgate.ENotFound, "There is no key %q.", id))
		return
	}
	if _, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindRevokeKey, Key: &sale.APIKey{ID: id, Tenant: c.Tenant}}); err != nil {
		api.WriteError(w, err)
		return
	}
	s.log.Info("api key revoked", "key", id, "by", c.Actor())
	w.WriteHeader(http.StatusNoContent)
}

// Brand returns the branding of a drop's tenant (web.BrandReader); false for
// drops of the platform and tenants without branding.
func (s DropReader) Brand(_ context.Context, drop string) (floodgate.Brand, bool) {
	var (
		b  floodgate.Brand
		ok bool
	)
	s.Store.Read(func(st *sale.State) {
		d := st.Drops[drop]
		if d == nil || d.Tenant == "" {
			return
		}
		t := st.Tenants[d.Tenant]
		if t == nil || (t.Spec.DisplayName == "" && t.Spec.LogoURL == "" && t.Spec.Accent == "") {
			return
		}
		name := t.Spec.DisplayName
		if name == "" {
			name = t.Spec.Name
		}
		b, ok = floodgate.Brand{Tenant: t.Spec.ID, Name: name, LogoURL: t.Spec.LogoURL, Accent: t.Spec.Accent}, true
	})
	return b, ok
}

// ResolveCaller resolves the caller of a request this package's server is
// serving, with Server.Caller, for handlers mounted on it (the status page);
// false when r carries no working credential.
func ResolveCaller(r *http.Request) (floodgate.Caller, bool) {
	info, ok := r.Context().Value(ctxRequest).(*requestInfo)
	if !ok || info.srv == nil {
		return floodgate.Caller{}, false
	}
	c, err := info.srv.Caller(r)
	return c, err == nil
}

// patchTenantRequest is the body of PATCH /api/v1/tenants/{id}: any of the
// settings; "" clears a branding field.
type patchTenantRequest struct {
	Name              *string `json:"name"`
	MaxDrops          *int64  `json:"max_drops"`
	MaxAdmitPerSecond *int64  `json:"max_admit_per_second"`
	DisplayName       *string `json:"display_name"`
	LogoURL           *string `json:"logo_url"`
	Accent            *string `json:"accent"`
}

func (s *Server) patchTenant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req patchTenantRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, err)
		return
	}
	var spec sale.TenantSpec
	if err := s.readTenant(r, id, func(t *sale.Tenant) { spec = t.Spec }); err != nil {
		api.WriteError(w, err)
		return
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&spec.Name, req.Name)
	set(&spec.DisplayName, req.DisplayName)
	set(&spec.LogoURL, req.LogoURL)
	if req.Accent != nil {
		spec.Accent = strings.ToLower(*req.Accent)
	}
	if req.MaxDrops != nil {
		spec.MaxDrops = *req.MaxDrops
	}
	if req.MaxAdmitPerSecond != nil {
		spec.MaxAdmitPerSecond = *req.MaxAdmitPerSecond
	}
	if err := sale.ValidTenantSpec(&spec); err != nil {
		api.WriteError(w, err)
		return
	}
	if _, err := s.apply(r.Context(), &sale.Command{Kind: sale.KindUpdateTenant, TenantSpec: &spec}); err != nil {
		api.WriteError(w, err)
		return
	}
	var v TenantView
	s.cfg.Store.Read(func(st *sale.State) { v = tenantView(st, st.Tenants[id]) })
	s.log.Info("tenant changed", "tenant", id, "by", CallerOf(r).Actor())
	api.WriteJSON(w, http.StatusOK, v)
}
