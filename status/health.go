package status

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/ticker"
)

// Health is what a core node reads its health signals from.
type Health struct {
	// HasLeader reports whether the cluster has a known Raft leader.
	HasLeader func() bool
	// IdentityDown reports whether the identity provider is failing.
	IdentityDown func() bool
	// Answers counts API answers, and of them 5xx, since the start.
	Answers func() (total, failed uint64)
	// Drops lists every drop with its state.
	Drops func() []floodgate.Drop
	// DiskFull reports whether this node's data disk is full (or failing),
	// so that it takes no writes (store.Store.DiskFault); nil means never.
	DiskFull func() bool
}

// Disk-full signal: its wording is all the page says of it (the store's
// error, with paths and times, stays in the node's log).
const (
	diskFullTitle   = "Checkout is paused: a server's disk is full"
	diskFullMessage = "A server's data disk is full, so new holds, orders and queue places cannot be saved and checkout is paused. " +
		"Holds, orders and queue places already acknowledged are kept. Checkout resumes on its own once there is room again."
)

// errorWindow is how many seconds of answers the error rate is taken over.
const errorWindow = 30

// WatchHealth turns what a core node sees into signals every second until
// ctx is done: its data disk full, no Raft leader, the identity provider
// down, more than 5 % of at least 50 API answers in the last 30 seconds
// failing, and drops that sold out. Observe opens, updates and resolves incidents from them.
func (s *Service) WatchHealth(ctx context.Context, h Health) {
	var lastTotal, lastFailed uint64
	var window []struct{ total, failed uint64 }
	ticker.Every(ctx, time.Second, func(context.Context) {
		// First: while the disk is full, the other signals' records fail
		// too, and once it has room this one's incident is recorded first.
		// A node alone whose disk is full loses its leadership at every
		// election and answers writes 503: that is the full disk, which
		// its own signal says, not a second and a third incident.
		diskFull := h.DiskFull != nil && h.DiskFull()
		s.Observe(Signal{
			Key: "disk_full", Component: "checkout,orders,waiting-room", OK: !diskFull,
			Impact: "major", Title: diskFullTitle, Message: diskFullMessage, Local: true,
		})
		s.Observe(Signal{
			Key: "raft_leader", Component: "checkout,orders,waiting-room", OK: h.HasLeader() || diskFull,
			Impact: "major", Title: "Checkout is unavailable",
			Message: "The sale core has no leader, so holds and orders cannot be committed; queue positions are kept.",
		})
		s.Observe(Signal{
			Key: "identity_provider", Component: "login", OK: !h.IdentityDown(),
			Impact: "major", Title: "Sign-in is unavailable",
			Message: "The identity provider is not answering. Holds are paused, not lost: checkout continues when sign-in is back.",
		})
		total, failed := h.Answers()
		window = append(window, struct{ total, failed uint64 }{total - lastTotal, failed - lastFailed})
		lastTotal, lastFailed = total, failed
		if len(window) > errorWindow {
			window = window[1:]
		}
		if diskFull {
			window = window[:0]
		}
		var wt, wf uint64
		for _, w := range window {
			wt, wf = wt+w.total, wf+w.failed
		}
		s.Observe(Signal{
			Key: "error_rate", Component: "checkout", OK: wt < 50 || wf*20 <= wt,
			Impact: "minor", Title: "Elevated error rate",
			Message: fmt.Sprintf("%d of the last %d API requests failed on our side.", wf, wt),
		})
		drops := h.Drops()
		// Every second, not only when the drops change: with a replicated
		// page only the leader records them, and leadership moves.
		ids := make([]string, len(drops))
		for i, d := range drops {
			ids[i] = d.ID
		}
		sort.Strings(ids)
		s.SetComponents(ids)
		stillSoldOut := map[string]bool{}
		for _, d := range drops {
			if !soldOut(d) {
				continue
			}
			stillSoldOut[d.ID] = true
			s.Observe(Signal{
				Key: soldOutPrefix + d.ID, Component: d.ID, OK: false, Impact: "none",
				Title: d.Name + " is sold out", Message: "Every unit of " + d.Name + " has been sold. Thank you for your patience.",
			})
		}
		s.endSoldOutNotices(stillSoldOut)
	})
}
