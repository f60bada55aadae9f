package status

import (
	"context"
	"net/http"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// The status page is the platform's: its admin calls take the root admin
// token. A partner maker's API key (resolved by Config.Caller on a core
// node) may read the buyers an incident affected in its own drops, and is
// refused (403) everywhere else.

// TenantAffectedSource is optional on an AffectedSource: it lists only the
// buyers of one tenant's drops.
type TenantAffectedSource interface {
	AffectedOf(tenant string, from, to time.Time) ([]Buyer, error)
}

type ctxKey int

const ctxTenant ctxKey = 0

// tenantOf is the tenant whose key made r ("" for the admin token).
func tenantOf(r *http.Request) string {
	t, _ := r.Context().Value(ctxTenant).(string)
	return t
}

// adminOption changes what admin lets through.
type adminOption int

// tenantsToo lets a tenant's key through admin, marked with its tenant.
const tenantsToo adminOption = 1

// tenantCaller resolves r to a tenant's key, if Config.Caller is set and
// the request carries one.
func (s *Service) tenantCaller(r *http.Request) (floodgate.Caller, bool) {
	if s.cfg.Caller == nil {
		return floodgate.Caller{}, false
	}
	c, ok := s.cfg.Caller(r)
	return c, ok && !c.Root && c.Tenant != ""
}

func (s *Service) refuseTenant(w http.ResponseWriter) {
	api.WriteError(w, floodgate.Errorf(floodgate.EForbidden, "The status page is the platform's: this needs the admin token, not a tenant's key."))
}

func withTenant(r *http.Request, tenant string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxTenant, tenant))
}

// Routes lists the patterns of every route Handler serves.
func (s *Service) Routes() []string { return append([]string(nil), s.mux().Patterns...) }
