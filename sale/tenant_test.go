package sale

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/floodgate/floodgate"
)

const testHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func tenantSpec(id string, maxDrops int64) *TenantSpec {
	return &TenantSpec{ID: id, Name: "Maker " + id, MaxDrops: maxDrops, MaxAdmitPerSecond: 1000,
		DisplayName: "Maker <" + id + ">", LogoURL: "https://cdn.example.com/" + id + ".png", Accent: "#0a7d5a"}
}

func TestTenantDropsAndQuota(t *testing.T) {
	s := NewState()
	acme := tenantSpec("acme", 2)
	acme.MaxAdmitPerSecond = 500
	mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: acme})
	mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("beta", 1)})
	// The same tenant again is a replay; other settings are a conflict.
	if res := mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0 + 1, TenantSpec: acme}); res.Created {
		t.Fatal("a replayed tenant was created again")
	}
	mustRefuse(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("acme", 3)}, floodgate.EConflict)

	sp := spec("a1", 10)
	sp.AdmitPerSecond = 100
	res := mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a1", Spec: sp})
	if !res.Created || s.Drops["a1"].Tenant != "acme" {
		t.Fatalf("drop not created for acme: %+v %q", res, s.Drops["a1"].Tenant)
	}
	// A replay is not counted twice.
	if res := mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a1", Spec: sp}); res.Created {
		t.Fatal("replay created a drop")
	}
	// Another tenant cannot take or replay the id, even with the same body.
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "beta", Drop: "a1", Spec: sp}, floodgate.EConflict)
	// Nor can a tenant take a platform drop's id.
	mustOK(t, s, Command{Kind: KindCreateDrop, Now: t0, Drop: "root1", Spec: spec("root1", 5)})
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "root1", Spec: spec("root1", 5)}, floodgate.EConflict)
	if s.Drops["root1"].Tenant != "" {
		t.Fatal("a platform drop changed hands")
	}
	// Over the admission cap.
	fast := spec("a2", 10)
	fast.AdmitPerSecond = 501
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a2", Spec: fast}, floodgate.EQuotaExceeded)
	fast.AdmitPerSecond = 500
	mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a2", Spec: fast})
	// Over max_drops.
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a3", Spec: spec("a3", 1)}, floodgate.EQuotaExceeded)
	if _, ok := s.Drops["a3"]; ok {
		t.Fatal("a refused drop exists")
	}
	// An unknown tenant.
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "nobody", Drop: "n1", Spec: spec("n1", 1)}, floodgate.ENotFound)
	if n := s.TenantDrops("acme"); n != 2 {
		t.Fatalf("acme has %d drops, want 2", n)
	}
}

func TestTenantSpecValidation(t *testing.T) {
	bad := []func(*TenantSpec){
		func(t *TenantSpec) { t.ID = "" },
		func(t *TenantSpec) { t.ID = "Upper" },
		func(t *TenantSpec) { t.ID = strings.Repeat("a", 33) },
		func(t *TenantSpec) { t.Name = "" },
		func(t *TenantSpec) { t.MaxDrops = 0 },
		func(t *TenantSpec) { t.MaxAdmitPerSecond = -1 },
		func(t *TenantSpec) { t.DisplayName = "a\nb" },
		func(t *TenantSpec) { t.LogoURL = "http://cdn.example.com/logo.png" },
		func(t *TenantSpec) { t.LogoURL = "javascript:alert(1)" },
		func(t *TenantSpec) { t.LogoURL = "https://cdn.example.com/a\".png" },
		func(t *TenantSpec) { t.LogoURL = "https://cdn.example.com/a).png" },
		func(t *TenantSpec) { t.LogoURL = "https://user:pw@cdn.example.com/a.png" },
		func(t *TenantSpec) { t.LogoURL = "https:///a.png" },
		func(t *TenantSpec) { t.LogoURL = "https://cdn.example.com;script-src/a.png" },
		func(t *TenantSpec) { t.LogoURL = "https://cdn.example.com,x/a.png" },
		func(t *TenantSpec) { t.Accent = "red" },
		func(t *TenantSpec) { t.Accent = "#12345" },
		func(t *TenantSpec) { t.Accent = "#12345g" },
		func(t *TenantSpec) { t.Accent = "#123456;background:url(x)" },
	}
	for i, f := range bad {
		sp := tenantSpec("acme", 1)
		f(sp)
		if ValidTenantSpec(sp) == nil {
			t.Errorf("case %d: %+v accepted", i, sp)
		}
		s := NewState()
		mustRefuse(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: sp}, floodgate.EInvalid)
	}
	if err := ValidTenantSpec(tenantSpec("acme", 1)); err != nil {
		t.Fatal(err)
	}
}

func TestKeys(t *testing.T) {
	s := NewState()
	mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("acme", 2)})
	key := &APIKey{ID: "fgk_acme_0123abcd", Tenant: "acme", Role: floodgate.RoleOwner, Hash: testHash, CreatedBy: "root"}
	mustOK(t, s, Command{Kind: KindCreateKey, Now: t0, Key: key})
	mustRefuse(t, s, Command{Kind: KindCreateKey, Now: t0, Key: key}, floodgate.EConflict)
	for _, k := range []APIKey{
		{ID: "fgk_beta_0123abce", Tenant: "beta", Role: "owner", Hash: testHash},                  // no such tenant
		{ID: "fgk_beta_0123abce", Tenant: "acme", Role: "owner", Hash: testHash},                  // id of another tenant
		{ID: "fgk_acme_0123abce", Tenant: "acme", Role: "admin", Hash: testHash},                  // no such role
		{ID: "fgk_acme_0123abce", Tenant: "acme", Role: "owner", Hash: "abc"},                     // not a hash
		{ID: "fgk_acme_XYZ", Tenant: "acme", Role: "owner", Hash: testHash},                       // bad id
		{ID: "fgk_acme_0123abce", Tenant: "acme", Role: "owner", Hash: strings.ToUpper(testHash)}, // not lower hex
	} {
		res := apply(t, s, Command{Kind: KindCreateKey, Now: t0, Key: &k})
		if res.Err == nil {
			t.Errorf("key %+v accepted", k)
		}
	}
	got := s.Keys["fgk_acme_0123abcd"]
	if got == nil || got.Hash != testHash || got.Role != "owner" || got.CreatedAt != t0 {
		t.Fatalf("stored key: %+v", got)
	}
	// Uses move last_used forward only.
	mustOK(t, s, Command{Kind: KindKeysUsed, Now: t0 + 5, Used: []KeyUse{{Key: key.ID, At: t0 + 5}, {Key: "fgk_acme_ffffffff", At: t0}}})
	mustOK(t, s, Command{Kind: KindKeysUsed, Now: t0 + 6, Used: []KeyUse{{Key: key.ID, At: t0 + 1}}})
	if got.LastUsedAt != t0+5 {
		t.Fatalf("last used %d, want %d", got.LastUsedAt, t0+5)
	}
	// Another tenant cannot revoke it; an unknown key is not found.
	mustRefuse(t, s, Command{Kind: KindRevokeKey, Now: t0, Key: &APIKey{ID: key.ID, Tenant: "beta"}}, floodgate.ENotFound)
	mustRefuse(t, s, Command{Kind: KindRevokeKey, Now: t0, Key: &APIKey{ID: "fgk_acme_ffffffff"}}, floodgate.ENotFound)
	mustOK(t, s, Command{Kind: KindRevokeKey, Now: t0 + 7, Key: &APIKey{ID: key.ID, Tenant: "acme"}})
	mustOK(t, s, Command{Kind: KindRevokeKey, Now: t0 + 9, Key: &APIKey{ID: key.ID}})
	if got.RevokedAt != t0+7 {
		t.Fatalf("revoked at %d, want %d (the first revocation)", got.RevokedAt, t0+7)
	}
}

func TestKeyIDOf(t *testing.T) {
	for key, want := range map[string]string{
		"fgk_acme_0123abcd_00ff":                 "fgk_acme_0123abcd",
		"fgk_my_shop_0123abcd_00ff":              "fgk_my_shop_0123abcd",
		"fgk_":                                   "",
		"fgk__":                                  "",
		"bearer":                                 "",
		"fgk_" + strings.Repeat("a", 300) + "_x": "",
	} {
		if got := KeyIDOf(key); got != want {
			t.Errorf("KeyIDOf(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestTenantStateRoundTrip(t *testing.T) {
	s := NewState()
	mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("acme", 2)})
	mustOK(t, s, Command{Kind: KindCreateKey, Now: t0, Key: &APIKey{ID: "fgk_acme_0123abcd", Tenant: "acme", Role: "viewer", Hash: testHash}})
	mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a1", Spec: spec("a1", 3)})
	if s2 := snapshot(t, s); s2.Drops["a1"].Tenant != "acme" || s2.Keys["fgk_acme_0123abcd"].Role != "viewer" {
		t.Fatalf("the tenant's drop and key did not survive a snapshot: %+v %+v", s2.Drops["a1"], s2.Keys)
	}
}

// tenantCommand makes one of the tenant kinds for the property test: valid
// most of the time, with tenants, keys and drop ids that collide.
func (g *gen) tenantCommand(c *Command) {
	tenant := []string{"t1", "t2", "nobody"}[g.pick(3)]
	keyID := fmt.Sprintf("fgk_%s_0000000%d", tenant, g.pick(3))
	switch g.pick(6) {
	case 0:
		c.Kind, c.TenantSpec = KindCreateTenant, tenantSpec(tenant, int64(g.pick(3)))
	case 1:
		c.Kind = KindCreateKey
		c.Key = &APIKey{ID: keyID, Tenant: tenant, Role: []string{"owner", "operator", "viewer", "root"}[g.pick(4)], Hash: testHash}
	case 2:
		c.Kind, c.Key = KindRevokeKey, &APIKey{ID: keyID}
	case 3:
		c.Kind, c.Used = KindKeysUsed, []KeyUse{{Key: keyID, At: g.now}}
	case 4:
		c.Kind, c.TenantSpec = KindUpdateTenant, tenantSpec(tenant, int64(g.pick(3)))
	default:
		id := []string{"a", "t-a", "t-b", "t-c"}[g.pick(4)]
		c.Kind, c.Tenant, c.Drop, c.Spec = KindCreateTenantDrop, tenant, id, g.spec(id)
	}
}

func TestUpdateTenant(t *testing.T) {
	s := NewState()
	mustOK(t, s, Command{Kind: KindCreateTenant, Now: t0, TenantSpec: tenantSpec("acme", 1)})
	mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a1", Spec: spec("a1", 3)})
	mustRefuse(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a2", Spec: spec("a2", 3)}, floodgate.EQuotaExceeded)
	// The platform raises the quota and changes the branding.
	more := tenantSpec("acme", 2)
	more.Accent, more.DisplayName = "#112233", "Acme"
	mustOK(t, s, Command{Kind: KindUpdateTenant, Now: t0, TenantSpec: more})
	if got := s.Tenants["acme"].Spec; got != *more {
		t.Fatalf("tenant after update: %+v", got)
	}
	mustOK(t, s, Command{Kind: KindCreateTenantDrop, Now: t0, Tenant: "acme", Drop: "a2", Spec: spec("a2", 3)})
	// A lower admission cap slows the tenant's open drops at once.
	slower := *more
	slower.MaxAdmitPerSecond = 40
	mustOK(t, s, Command{Kind: KindCloseDrop, Now: t0, Drop: "a2"})
	mustOK(t, s, Command{Kind: KindUpdateTenant, Now: t0, TenantSpec: &slower})
	if a1, a2 := s.Drops["a1"].Spec.AdmitPerSecond, s.Drops["a2"].Spec.AdmitPerSecond; a1 != 40 || a2 != 1000 {
		t.Fatalf("admit_per_second after the cap fell to 40: open drop %d (want 40), closed drop %d (want 1000)", a1, a2)
	}
	more = &slower
	// Bad settings and unknown tenants change nothing.
	bad := tenantSpec("acme", 2)
	bad.LogoURL = "http://insecure.example/logo.png"
	mustRefuse(t, s, Command{Kind: KindUpdateTenant, Now: t0, TenantSpec: bad}, floodgate.EInvalid)
	mustRefuse(t, s, Command{Kind: KindUpdateTenant, Now: t0, TenantSpec: tenantSpec("nobody", 2)}, floodgate.ENotFound)
	if got := s.Tenants["acme"].Spec; got != *more {
		t.Fatalf("a refused update changed the tenant: %+v", got)
	}
}

// FuzzValidLogoURL: a logo URL that passes is an https URL with a host, no
// credentials, and nothing that could end an HTML attribute, a CSS url() or
// a Content-Security-Policy source (the pages put its origin in the CSP).
func FuzzValidLogoURL(f *testing.F) {
	for _, s := range []string{"https://cdn.example.com/logo.png", "https://127.0.0.1:8443/l.svg", "https://[::1]/x",
		"https://a.example/x;y", "https://a.example,b/x", "http://a.example/x", "https://u:p@a.example/", "javascript:alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if !ValidLogoURL(u) {
			return
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "https" || p.Hostname() == "" || p.User != nil {
			t.Fatalf("%q passed: %+v %v", u, p, err)
		}
		if strings.ContainsAny(u, "\"'<>\\() \t\n\r") {
			t.Fatalf("%q passed with a character that ends an attribute or url()", u)
		}
		if strings.ContainsAny(p.Host, ";,*'\" ") {
			t.Fatalf("%q passed with host %q, which would change the CSP", u, p.Host)
		}
	})
}
