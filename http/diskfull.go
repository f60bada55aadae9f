package http

import (
	"net/http"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
)

// diskFaulter is a store that can tell that its data disk is full
// (store.Store.DiskFault).
type diskFaulter interface{ DiskFault() error }

// diskFull answers /healthz 503 "disk_full" while the node's Raft log is out
// of service because its data disk is full, and reports whether it did. The
// state clears on its own once there is room again.
func diskFull(w http.ResponseWriter, st Store) bool {
	d, ok := st.(diskFaulter)
	if !ok {
		return false
	}
	if err := d.DiskFault(); err != nil {
		api.WriteErrorRetry(w, floodgate.Errorf(floodgate.EUnavailable, "disk_full: %v. It takes no writes until the data directory has room again, then takes them on its own.", err), 1)
		return true
	}
	return false
}
