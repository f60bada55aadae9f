// Package demo creates the demo drop of floodgate serve --demo: 3,000 Mini AI
// speakers, one per customer, each with a music-pass code, opening 30
// seconds after the first start so the countdown and the queue can be seen.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// DropID is the id of the demo drop.
const DropID = "mini-speaker"

// Store is what Create needs from the replicated store.
type Store = sale.Replicated

// Spec returns the demo drop, opening 30 seconds after now.
func Spec(now time.Time) *sale.DropSpec {
	vouchers := make([]string, 3000)
	for i := range vouchers {
		vouchers[i] = fmt.Sprintf("MELON-%04d", i+1)
	}
	return &sale.DropSpec{
		ID: DropID, Name: "Mini AI speaker", Price: 59000, Currency: "KRW",
		Stock: 3000, PerCustomerLimit: 1, StartsAt: now.Add(30 * time.Second).UnixMilli(),
		HoldSeconds: 300, AdmitPerSecond: 200, AdmitWindow: sale.DefaultAdmitWindow,
		Vouchers: vouchers, Fingerprint: "demo",
		// As a drop created through the API: the join challenge on "auto".
		ChallengeDifficulty: sale.ChallengeAuto,
	}
}

// Create creates the demo drop once this node leads, unless it exists; it
// returns when the drop exists or ctx ends. Every node of a cluster may run
// it: only the leader writes, and a drop that exists already is left alone.
func Create(ctx context.Context, st Store, log *slog.Logger) {
	for ctx.Err() == nil {
		var exists bool
		st.Read(func(s *sale.State) { _, exists = s.Drops[DropID] })
		if exists {
			return
		}
		if !st.IsLeader() {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		now := time.Now()
		spec := Spec(now)
		// Like a drop created through the API, it commits to a secret
		// shuffle seed, so its fairness can be checked (docs/fairness.md).
		seed := make([]byte, sale.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			log.Warn("no randomness for the demo drop's shuffle seed; retrying", "err", err)
			time.Sleep(time.Second)
			continue
		}
		_, err := st.Apply(ctx, &sale.Command{Kind: sale.KindCreateDropV2, Now: now.UnixMilli(), Drop: spec.ID, Spec: spec, ShuffleSeed: seed})
		if err != nil && floodgate.ErrorCode(err) != floodgate.EConflict {
			log.Warn("creating the demo drop failed; retrying", "err", err)
			time.Sleep(time.Second)
			continue
		}
		log.Info("demo drop created", "drop", DropID, "starts_at", sale.Time(spec.StartsAt))
		return
	}
}
