package testkit

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TenantRequest is the body of POST /api/v1/tenants.
type TenantRequest struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	MaxDrops          int64  `json:"max_drops"`
	MaxAdmitPerSecond int64  `json:"max_admit_per_second,omitempty"`
	DisplayName       string `json:"display_name,omitempty"`
	LogoURL           string `json:"logo_url,omitempty"`
	Accent            string `json:"accent,omitempty"`
}

// APIKey is the answer of POST /api/v1/tenants/{id}/keys: Key is shown once.
type APIKey struct {
	ID         string  `json:"id"`
	Tenant     string  `json:"tenant"`
	Role       string  `json:"role"`
	Key        string  `json:"key"`
	LastUsedAt *string `json:"last_used_at"`
}

// MustCreateTenant creates a tenant with the client's admin token.
func (c *Client) MustCreateTenant(tb testing.TB, req TenantRequest) {
	tb.Helper()
	ctx, cancel := mustCtx()
	defer cancel()
	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/tenants", c.admin(), req, nil); err != nil {
		tb.Fatalf("create tenant %s: %v", req.ID, err)
	}
}

// MustCreateKey makes an API key of tenant with role, with the client's
// admin token.
func (c *Client) MustCreateKey(tb testing.TB, tenant, role string) APIKey {
	tb.Helper()
	ctx, cancel := mustCtx()
	defer cancel()
	var k APIKey
	if _, err := c.Call(ctx, http.MethodPost, "/api/v1/tenants/"+url.PathEscape(tenant)+"/keys", c.admin(), map[string]string{"role": role}, &k); err != nil {
		tb.Fatalf("create a %s key of %s: %v", role, tenant, err)
	}
	return k
}

// RevokeKey revokes an API key by its id, with the client's admin token.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	_, err := c.Call(ctx, http.MethodDelete, "/api/v1/keys/"+url.PathEscape(id), c.admin(), nil, nil)
	return err
}

// Keys lists a tenant's keys, with the client's admin token.
func (c *Client) Keys(ctx context.Context, tenant string) ([]APIKey, error) {
	var out struct {
		Keys []APIKey `json:"keys"`
	}
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/tenants/"+url.PathEscape(tenant)+"/keys", c.admin(), nil, &out)
	return out.Keys, err
}
