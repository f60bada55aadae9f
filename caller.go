package floodgate

// Roles of a tenant's API key.
const (
	RoleOwner    = "owner"    // everything of the tenant, its keys and sinks included
	RoleOperator = "operator" // drops, live controls, orders
	RoleViewer   = "viewer"   // reads only
)

// Access is what an admin route needs from its caller.
type Access int

// Access levels, from the least to the most.
const (
	AccessRead    Access = iota // any key of the tenant
	AccessOperate               // an owner or operator key
	AccessOwn                   // an owner key (keys, sinks)
	AccessRoot                  // the root admin token only (tenants, cluster, status)
)

// Caller is who made an admin call: the root admin token, or one API key of
// one tenant. The HTTP layer resolves it once per request (http.Server.Caller).
type Caller struct {
	Root   bool
	Tenant string // "" for root
	Role   string // RoleOwner, RoleOperator or RoleViewer; "" for root
	KeyID  string // the key's id, which is also its visible prefix
}

// Actor names the caller in audit entries and logs: "root", or the key id
// (fgk_<tenant>_<hex>, the part of the key that may be shown).
func (c Caller) Actor() string {
	if c.Root {
		return "root"
	}
	return c.KeyID
}

// Sees reports whether the caller may see an object of the given tenant
// ("" for objects of the platform, such as drops made with the root token).
// Objects the caller does not see are answered 404 not_found, never 403, so
// that their ids do not leak.
func (c Caller) Sees(tenant string) bool { return c.Root || (c.Tenant != "" && c.Tenant == tenant) }

// Allows reports whether the caller's role is enough for a.
func (c Caller) Allows(a Access) bool {
	if c.Root {
		return true
	}
	switch a {
	case AccessRead:
		return c.Role == RoleOwner || c.Role == RoleOperator || c.Role == RoleViewer
	case AccessOperate:
		return c.Role == RoleOwner || c.Role == RoleOperator
	case AccessOwn:
		return c.Role == RoleOwner
	}
	return false
}

// Brand is how a tenant's drop pages look: the maker's name, an https logo
// and an accent colour (#rrggbb), all checked when the tenant was made.
type Brand struct {
	Tenant  string
	Name    string
	LogoURL string
	Accent  string
}
