// Package localstore opens a real single-node store for in-process tests
// (handlers, the waiting room, sinks, the console). It is apart from
// testkit because store imports status, whose tests import testkit.
package localstore

import (
	"log/slog"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/store"
)

// Leader opens a store in a fresh directory, waits until it leads, and
// closes it when the test ends. Raft's own log is quiet.
func Leader(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(store.Config{Dir: tb.TempDir(), Bootstrap: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	testkit.WaitFor(tb, "the store to lead", st.IsLeader)
	return st
}
