package testkit

import (
	"net"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// OIDC is a real OIDC provider (mockoidc) on loopback that a test can stop
// and start again on the same address with the same keys, clients and
// sessions, to play an identity-provider outage and its recovery.
type OIDC struct {
	tb      testing.TB
	M       *mockoidc.MockOIDC
	Addr    string
	running bool
}

// StartOIDC starts a provider; it is stopped when the test ends.
func StartOIDC(tb testing.TB) *OIDC {
	tb.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		tb.Fatal(err)
	}
	o := &OIDC{tb: tb, M: m, Addr: m.Server.Addr, running: true}
	tb.Cleanup(o.Stop)
	return o
}

// Stop shuts the provider down; its address refuses connections.
func (o *OIDC) Stop() {
	if o.running {
		_ = o.M.Shutdown()
		o.running = false
	}
}

// Start brings the provider back on its address.
func (o *OIDC) Start() {
	o.tb.Helper()
	old := o.M
	m, err := mockoidc.NewServer(old.Keypair.PrivateKey)
	if err != nil {
		o.tb.Fatal(err)
	}
	m.ClientID, m.ClientSecret = old.ClientID, old.ClientSecret
	m.SessionStore, m.UserQueue, m.ErrorQueue = old.SessionStore, old.UserQueue, old.ErrorQueue
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		o.tb.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		o.tb.Fatal(err)
	}
	o.M, o.running = m, true
}
