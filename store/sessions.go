package store

import (
	"time"

	"github.com/floodgate/floodgate/sale"
)

// SessionRevoked reports whether the buyer session id was ended at logout
// and its revocation still holds at now, from the replicated state
// (identity.(*Sessions).SetRevoked).
func (s *Store) SessionRevoked(id string, now time.Time) (revoked bool) {
	s.Read(func(st *sale.State) { revoked = st.SessionRevoked(id, now.UnixMilli()) })
	return revoked
}
