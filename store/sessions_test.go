package store

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/sale"
)

// TestSessionRevoked: a session revoked through the log is revoked until
// the revocation's end, and no other session is.
func TestSessionRevoked(t *testing.T) {
	st := open(t, t.TempDir(), nil)
	defer st.Close()
	now := time.UnixMilli(benchNow)
	mustApply(t, st, &sale.Command{Kind: sale.KindRevokeSession, Now: benchNow, SessionID: "s_0123456789abcdef", Until: benchNow + 60_000})
	if !st.SessionRevoked("s_0123456789abcdef", now) {
		t.Error("the revoked session is not revoked")
	}
	if st.SessionRevoked("s_fedcba9876543210", now) {
		t.Error("another session is revoked")
	}
	if st.SessionRevoked("s_0123456789abcdef", now.Add(time.Minute)) {
		t.Error("the session is still revoked once the revocation ended")
	}
}
