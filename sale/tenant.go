package sale

import (
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"

	"github.com/floodgate/floodgate"
)

// Tenants are the partner makers who sell on one Floodgate. A tenant has its
// own API keys, its own drops (at most MaxDrops of them, each admitting at
// most MaxAdmitPerSecond), and its own branding on the buyer pages. Keys are
// stored as SHA-256 hashes only; the HTTP layer makes the key, shows it once
// and sends the hash here.

// Limits on tenants and keys.
const (
	MaxTenantDrops   = 100_000
	MaxKeysPerTenant = 100
	MaxKeysUsed      = 1000 // key uses in one KindKeysUsed command
)

// Tenant is the replicated state of one tenant.
type Tenant struct {
	Spec      TenantSpec `json:"spec"`
	CreatedAt int64      `json:"created_at"`
}

// TenantSpec is what the root admin asks for when creating a tenant.
type TenantSpec struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// MaxDrops is how many drops the tenant may have (closed ones count).
	MaxDrops int64 `json:"max_drops"`
	// MaxAdmitPerSecond caps the admit_per_second of the tenant's drops
	// (0: the global maximum).
	MaxAdmitPerSecond int64 `json:"max_admit_per_second"`
	// Branding shown on the tenant's buyer pages.
	DisplayName string `json:"display_name,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"`
	Accent      string `json:"accent,omitempty"` // #rrggbb
}

// APIKey is the replicated state of one API key. The key itself is never
// stored: only the hex SHA-256 of it.
type APIKey struct {
	ID        string `json:"id"` // also the key's visible prefix: fgk_<tenant>_<hex>
	Tenant    string `json:"tenant"`
	Role      string `json:"role"`
	Hash      string `json:"hash"` // hex SHA-256 of the whole key
	CreatedAt int64  `json:"created_at"`
	CreatedBy string `json:"created_by,omitempty"`
	RevokedAt int64  `json:"revoked_at,omitempty"`
	// LastUsedAt is coarse: the HTTP layer writes a use at most once a
	// minute per key.
	LastUsedAt int64 `json:"last_used_at,omitempty"`
}

// KeyUse is one key's latest use, as a node saw it.
type KeyUse struct {
	Key string
	At  int64
}

// ValidTenantSpec checks a tenant spec; Apply checks it again.
func ValidTenantSpec(t *TenantSpec) *floodgate.Error {
	bad := func(format string, args ...any) *floodgate.Error {
		return floodgate.Errorf(floodgate.EInvalid, format, args...)
	}
	switch {
	case !ValidID(t.ID) || len(t.ID) > 32:
		return bad("\"id\" is required: 1 to 32 characters of a-z, 0-9, '-' and '_'.")
	case t.Name == "" || len(t.Name) > 200:
		return bad("\"name\" is required and at most 200 bytes long.")
	case t.MaxDrops < 1 || t.MaxDrops > MaxTenantDrops:
		return bad("\"max_drops\" must be between 1 and %d.", MaxTenantDrops)
	case t.MaxAdmitPerSecond < 0 || t.MaxAdmitPerSecond > MaxAdmitPerSecond:
		return bad("\"max_admit_per_second\" must be between 1 and %d (0 or omitted: no cap of its own).", MaxAdmitPerSecond)
	case len(t.DisplayName) > 100 || !printable(t.DisplayName):
		return bad("\"display_name\" must be at most 100 bytes of printable text.")
	case t.LogoURL != "" && !ValidLogoURL(t.LogoURL):
		return bad("\"logo_url\" must be an https:// URL of at most 2048 bytes, with a host and without credentials.")
	case t.Accent != "" && !ValidAccent(t.Accent):
		return bad("\"accent\" must be a colour written #rrggbb, e.g. #0a7d5a.")
	}
	return nil
}

// ValidLogoURL reports whether u is an absolute https URL with a host, no
// user info and nothing that needs escaping in a CSS or HTML attribute.
func ValidLogoURL(u string) bool {
	if len(u) > 2048 || !strings.HasPrefix(u, "https://") {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '(' || c == ')' {
			return false
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.User != nil || p.Hostname() == "" {
		return false
	}
	// The origin goes into the page's Content-Security-Policy: a plain
	// host name or address and a port only.
	for i := 0; i < len(p.Host); i++ {
		if c := p.Host[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// ValidAccent reports whether c is a colour written #rrggbb.
func ValidAccent(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c[i])) {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// ValidRole reports whether r is a key role.
func ValidRole(r string) bool {
	return r == floodgate.RoleOwner || r == floodgate.RoleOperator || r == floodgate.RoleViewer
}

// KeyPrefix is the visible start of every key of tenant: the key's id is
// KeyPrefix(tenant) plus a random hex part, and the key is its id, "_" and
// the secret.
func KeyPrefix(tenant string) string { return "fgk_" + tenant + "_" }

// KeyIDOf returns the id part of a key (everything before its last "_"),
// or "" when key is not shaped like a key.
func KeyIDOf(key string) string {
	if !strings.HasPrefix(key, "fgk_") || len(key) > 200 {
		return ""
	}
	i := strings.LastIndexByte(key, '_')
	if i <= len("fgk_") {
		return ""
	}
	return key[:i]
}

func validKeyID(id, tenant string) bool {
	rest, ok := strings.CutPrefix(id, KeyPrefix(tenant))
	if !ok || len(rest) < 8 || len(rest) > 32 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// applyTenant applies the tenant command kinds; ok is false for other kinds.
func (s *State) applyTenant(c *Command) (Result, bool) {
	switch c.Kind {
	case KindCreateTenant:
		return s.createTenant(c), true
	case KindCreateKey:
		return s.createKey(c), true
	case KindRevokeKey:
		return s.revokeKey(c), true
	case KindKeysUsed:
		for _, u := range c.Used {
			if k := s.Keys[u.Key]; k != nil && u.At > k.LastUsedAt {
				k.LastUsedAt = u.At
			}
		}
		return Result{}, true
	case KindCreateTenantDrop:
		return s.createTenantDrop(c), true
	case KindUpdateTenant:
		return s.updateTenant(c), true
	}
	return Result{}, false
}

// updateTenant replaces a tenant's settings (the HTTP layer merges a PATCH
// into the current ones). Lowering max_drops below the drops the tenant has
// keeps them and refuses new ones; lowering max_admit_per_second slows the
// tenant's open drops that admit faster to the new cap.
func (s *State) updateTenant(c *Command) Result {
	if c.TenantSpec == nil {
		return refuse(floodgate.EInvalid, "A tenant needs a spec.")
	}
	t, ok := s.Tenants[c.TenantSpec.ID]
	if !ok {
		return refuse(floodgate.ENotFound, "There is no tenant %q.", c.TenantSpec.ID)
	}
	if err := ValidTenantSpec(c.TenantSpec); err != nil {
		return Result{Err: err}
	}
	t.Spec = *c.TenantSpec
	// A lower admission cap holds at once for the tenant's open drops.
	if limit := t.Spec.MaxAdmitPerSecond; limit > 0 {
		for _, d := range s.Drops {
			if d.Tenant == t.Spec.ID && !d.Closed && d.Spec.AdmitPerSecond > limit {
				d.Spec.AdmitPerSecond = limit
			}
		}
	}
	return Result{}
}

func (s *State) createTenant(c *Command) Result {
	if c.TenantSpec == nil {
		return refuse(floodgate.EInvalid, "A tenant needs a spec.")
	}
	if err := ValidTenantSpec(c.TenantSpec); err != nil {
		return Result{Err: err}
	}
	if t, ok := s.Tenants[c.TenantSpec.ID]; ok {
		if t.Spec != *c.TenantSpec {
			return refuse(floodgate.EConflict, "A tenant with id %q exists with other settings; pick another id.", c.TenantSpec.ID)
		}
		return Result{}
	}
	if s.Tenants == nil {
		s.Tenants = map[string]*Tenant{}
	}
	s.Tenants[c.TenantSpec.ID] = &Tenant{Spec: *c.TenantSpec, CreatedAt: c.Now}
	return Result{Created: true}
}

func (s *State) createKey(c *Command) Result {
	k := c.Key
	if k == nil {
		return refuse(floodgate.EInvalid, "A key needs an id, a tenant, a role and a hash.")
	}
	if _, ok := s.Tenants[k.Tenant]; !ok {
		return refuse(floodgate.ENotFound, "There is no tenant %q.", k.Tenant)
	}
	if !ValidRole(k.Role) {
		return refuse(floodgate.EInvalid, "\"role\" must be owner, operator or viewer.")
	}
	if !validKeyID(k.ID, k.Tenant) || !validHash(k.Hash) || len(k.CreatedBy) > MaxKeyLength {
		return refuse(floodgate.EInvalid, "A key needs a well-formed id and hash.")
	}
	if _, dup := s.Keys[k.ID]; dup {
		return refuse(floodgate.EConflict, "A key with id %q exists.", k.ID)
	}
	n := 0
	for _, o := range s.Keys {
		if o.Tenant == k.Tenant && o.RevokedAt == 0 {
			n++
		}
	}
	if n >= MaxKeysPerTenant {
		return refuse(floodgate.EQuotaExceeded, "Tenant %q has %d keys that work; revoke one first.", k.Tenant, n)
	}
	if s.Keys == nil {
		s.Keys = map[string]*APIKey{}
	}
	s.Keys[k.ID] = &APIKey{ID: k.ID, Tenant: k.Tenant, Role: k.Role, Hash: k.Hash, CreatedAt: c.Now, CreatedBy: k.CreatedBy}
	return Result{Created: true}
}

func (s *State) revokeKey(c *Command) Result {
	if c.Key == nil {
		return refuse(floodgate.EInvalid, "Which key?")
	}
	k, ok := s.Keys[c.Key.ID]
	if !ok || (c.Key.Tenant != "" && k.Tenant != c.Key.Tenant) {
		return refuse(floodgate.ENotFound, "There is no key %q.", c.Key.ID)
	}
	if k.RevokedAt == 0 {
		k.RevokedAt = max(c.Now, 1)
	}
	return Result{}
}

// checkTenants verifies what tenants and keys promise: every tenant's drop
// and key belongs to a tenant that exists, a key's id carries its tenant's
// prefix, and a key's hash is a SHA-256.
func (s *State) checkTenants() error {
	for id, d := range s.Drops {
		if d.Tenant != "" && s.Tenants[d.Tenant] == nil {
			return fmt.Errorf("drop %s belongs to tenant %q, which does not exist", id, d.Tenant)
		}
	}
	for id, t := range s.Tenants {
		if t.Spec.ID != id || ValidTenantSpec(&t.Spec) != nil {
			return fmt.Errorf("tenant %s has a bad spec %+v", id, t.Spec)
		}
	}
	for id, k := range s.Keys {
		if k.ID != id || s.Tenants[k.Tenant] == nil || !validKeyID(id, k.Tenant) || !validHash(k.Hash) || !ValidRole(k.Role) {
			return fmt.Errorf("key %s is malformed or of no tenant: %+v", id, k)
		}
	}
	return nil
}

// TenantDrops counts the drops of a tenant.
func (s *State) TenantDrops(tenant string) int64 {
	var n int64
	for _, d := range s.Drops {
		if d.Tenant == tenant {
			n++
		}
	}
	return n
}

// CheckAdmitRate refuses an admit_per_second over the cap of the drop's
// tenant (quota_exceeded); drops of the platform have no cap of their own.
// Changes of a drop's rate call it too.
func (s *State) CheckAdmitRate(tenant string, rate int64) *floodgate.Error {
	t, ok := s.Tenants[tenant]
	if !ok || t.Spec.MaxAdmitPerSecond == 0 || rate <= t.Spec.MaxAdmitPerSecond {
		return nil
	}
	return floodgate.Errorf(floodgate.EQuotaExceeded, "\"admit_per_second\" %d is over the %d per second of tenant %q.", rate, t.Spec.MaxAdmitPerSecond, tenant)
}

// createTenantDrop creates a drop that belongs to c.Tenant, within its
// quota. The same request again answers like createDrop does; a drop id of
// another tenant or of the platform is a conflict.
func (s *State) createTenantDrop(c *Command) Result {
	if c.Spec == nil {
		return refuse(floodgate.EInvalid, "A drop needs a spec.")
	}
	t, ok := s.Tenants[c.Tenant]
	if !ok {
		return refuse(floodgate.ENotFound, "There is no tenant %q.", c.Tenant)
	}
	if d, ok := s.Drops[c.Spec.ID]; ok {
		if d.Tenant != c.Tenant {
			return refuse(floodgate.EConflict, "The drop id %q is taken; pick another id.", c.Spec.ID)
		}
		return s.createDrop(c) // a replay (or a conflict of settings)
	}
	if err := ValidateSpec(c.Spec); err != nil {
		return Result{Err: err}
	}
	if n := s.TenantDrops(c.Tenant); n >= t.Spec.MaxDrops {
		return refuse(floodgate.EQuotaExceeded, "Tenant %q has %d drops, its quota; ask the platform for a larger max_drops.", c.Tenant, n)
	}
	if err := s.CheckAdmitRate(c.Tenant, c.Spec.AdmitPerSecond); err != nil {
		return Result{Err: err}
	}
	// The drop itself is made as a KindCreateDropV2 would make it.
	inner := *c
	inner.Kind = KindCreateDropV2
	res := s.createDrop(&inner)
	if res.Err == nil && res.Created {
		s.Drops[c.Spec.ID].Tenant = c.Tenant
	}
	return res
}

func appendTenantCommand(buf []byte, c *Command) []byte {
	switch c.Kind {
	case KindCreateTenant, KindUpdateTenant:
		t := c.TenantSpec
		if t == nil {
			t = &TenantSpec{}
		}
		buf = appendFields(buf, t.fields())
	case KindCreateKey, KindRevokeKey:
		k := c.Key
		if k == nil {
			k = &APIKey{}
		}
		buf = appendString(buf, k.ID)
		buf = appendString(buf, k.Tenant)
		if c.Kind == KindCreateKey {
			buf = appendString(buf, k.Role)
			buf = appendString(buf, k.Hash)
			buf = appendString(buf, k.CreatedBy)
		}
	case KindKeysUsed:
		buf = binary.AppendUvarint(buf, uint64(len(c.Used)))
		for _, u := range c.Used {
			buf = appendString(buf, u.Key)
			buf = binary.AppendVarint(buf, u.At)
		}
	}
	return buf
}

func decodeTenantCommand(d *decoder, c *Command) {
	switch c.Kind {
	case KindCreateTenant, KindUpdateTenant:
		t := &TenantSpec{}
		d.fields(t.fields())
		c.TenantSpec = t
	case KindCreateKey, KindRevokeKey:
		k := &APIKey{}
		k.ID = d.string()
		k.Tenant = d.string()
		if c.Kind == KindCreateKey {
			k.Role = d.string()
			k.Hash = d.string()
			k.CreatedBy = d.string()
		}
		c.Key = k
	case KindKeysUsed:
		n := d.count()
		if n > MaxKeysUsed {
			d.fail("key uses")
			return
		}
		for i := 0; i < n && d.err == nil; i++ {
			c.Used = append(c.Used, KeyUse{Key: d.string(), At: d.varint()})
		}
	}
}
