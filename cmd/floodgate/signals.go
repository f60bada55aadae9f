package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"time"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/identity"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/status"
	"github.com/floodgate/floodgate/store"
)

// deriveKey derives a key for one purpose from a secret every node shares.
func deriveKey(secret, purpose string) []byte {
	k := sha256.Sum256([]byte("floodgate " + purpose + "\x00" + secret))
	return k[:]
}

// watchHealth turns what this node sees into status signals every second:
// no Raft leader, the identity provider down, a 5xx rate over 5 %, and drops
// that sold out. The status package opens, updates and resolves incidents
// from them.
func watchHealth(ctx context.Context, st *store.Store, idp identity.Health, api *fhttp.Server, svc *status.Service) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastTotal, lastFailed uint64
	var window []struct{ total, failed uint64 }
	known := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		leader, _ := st.Leader()
		svc.Observe(status.Signal{
			Key: "raft_leader", Component: "checkout,orders,waiting-room", OK: leader != "",
			Impact: "major", Title: "Checkout is unavailable",
			Message: "The sale core has no leader, so holds and orders cannot be committed; queue positions are kept.",
		})
		svc.Observe(status.Signal{
			Key: "identity_provider", Component: "login", OK: !idp.Down(),
			Impact: "major", Title: "Sign-in is unavailable",
			Message: "The identity provider is not answering. Holds are paused, not lost: checkout continues when sign-in is back.",
		})
		total, failed := api.Answers()
		window = append(window, struct{ total, failed uint64 }{total - lastTotal, failed - lastFailed})
		lastTotal, lastFailed = total, failed
		if len(window) > 30 {
			window = window[1:]
		}
		var wt, wf uint64
		for _, w := range window {
			wt, wf = wt+w.total, wf+w.failed
		}
		svc.Observe(status.Signal{
			Key: "error_rate", Component: "checkout", OK: wt < 50 || wf*20 <= wt,
			Impact: "minor", Title: "Elevated error rate",
			Message: fmt.Sprintf("%d of the last %d API requests failed on our side.", wf, wt),
		})
		var drops []string
		soldOut := map[string]string{}
		now := time.Now().UnixMilli()
		st.Read(func(s *sale.State) {
			for id, d := range s.Drops {
				drops = append(drops, id)
				if d.DropState(now) == floodgate.DropSoldOut {
					soldOut[id] = d.Spec.Name
				}
			}
		})
		sort.Strings(drops)
		if len(drops) != len(known) {
			svc.SetComponents(drops)
			for _, id := range drops {
				known[id] = true
			}
		}
		for id, name := range soldOut {
			svc.Observe(status.Signal{
				Key: "sold_out:" + id, Component: id, OK: false, Impact: "none",
				Title: name + " is sold out", Message: "Every unit of " + name + " has been sold. Thank you for your patience.",
			})
		}
	}
}

// affectedSource lists the buyers who held or ordered during an incident.
// Waiting visitors are not listed: the server keeps nothing per waiting
// visitor (their tickets are self-contained), so only buyers who reached a
// hold are known.
type affectedSource struct{ st *store.Store }

func (a affectedSource) Affected(from, to time.Time) ([]status.Buyer, error) {
	f, t := from.UnixMilli(), to.UnixMilli()
	seen := map[string]bool{}
	var out []status.Buyer
	a.st.Read(func(s *sale.State) {
		for _, h := range s.Holds {
			end := h.ExpiresAt
			var customer string
			if o, ok := s.Orders[h.OrderID]; ok {
				end, customer = o.CreatedAt, o.Customer
			}
			if h.CreatedAt > t || end < f {
				continue
			}
			b := status.Buyer{Customer: "ticket:" + h.Visitor}
			if customer != "" {
				b = status.Buyer{Customer: customer, Email: customer}
			}
			if !seen[b.Customer] {
				seen[b.Customer] = true
				out = append(out, b)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Customer < out[j].Customer })
	return out, nil
}
