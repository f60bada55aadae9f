package status

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestSoldOutNoticeEndsWithItsDrop: the sold-out notice of a drop that is
// removed, or on sale again (restocked), ends: it no longer shows as an
// unresolved incident or in the banner, the removed drop's component goes,
// and the signal's record is not kept. A drop still sold out keeps its
// notice.
func TestSoldOutNoticeEndsWithItsDrop(t *testing.T) {
	s, _ := MustOpen(t, nil)
	var (
		mu    sync.Mutex
		drops = []floodgate.Drop{
			{ID: "speaker", Name: "Speaker", State: floodgate.DropSoldOut, Stock: 1, Sold: 1},
			{ID: "lamp", Name: "Lamp", State: floodgate.DropSoldOut, Stock: 1, Sold: 1},
			{ID: "kettle", Name: "Kettle", State: floodgate.DropSoldOut, Stock: 1, Sold: 1},
		}
	)
	setDrops := func(ds ...floodgate.Drop) {
		mu.Lock()
		drops = ds
		mu.Unlock()
	}
	testkit.Background(t, func(ctx context.Context) {
		s.WatchHealth(ctx, Health{
			HasLeader:    func() bool { return true },
			IdentityDown: func() bool { return false },
			Answers:      func() (uint64, uint64) { return 0, 0 },
			Drops: func() []floodgate.Drop {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(drops)
			},
		})
	})
	notices := func() []string {
		var out []string
		for _, inc := range openIncidents(s) {
			out = append(out, inc.Name)
		}
		slices.Sort(out)
		return out
	}
	testkit.WaitFor(t, "three sold-out notices", func() bool { return len(notices()) == 3 })

	// The speaker's drop is removed, the lamp is restocked; the kettle is
	// still sold out.
	setDrops(floodgate.Drop{ID: "lamp", Name: "Lamp", State: floodgate.DropOpen, Stock: 2, Sold: 1},
		floodgate.Drop{ID: "kettle", Name: "Kettle", State: floodgate.DropSoldOut, Stock: 1, Sold: 1})
	testkit.WaitFor(t, "the notices of the removed and the restocked drop to end", func() bool {
		n := notices()
		return len(n) == 1 && n[0] == "Kettle is sold out"
	})
	testkit.WaitFor(t, "the removed drop's component and signal record to go", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, comp := s.components["speaker"]
		_, sig := s.signals["sold_out:speaker"]
		return !comp && !sig
	})
	sum := s.Summary()
	for _, inc := range sum.Incidents {
		if strings.Contains(inc.Name, "Speaker") || strings.Contains(inc.Name, "Lamp") {
			t.Fatalf("summary.json still shows %q (%s)", inc.Name, inc.Status)
		}
	}
	for _, c := range sum.Components {
		if c.ID == "speaker" {
			t.Fatalf("summary.json still lists the removed drop's component %+v", c)
		}
	}
	if b := s.Banner(); !b.Active || !strings.Contains(b.Title, "Kettle") {
		t.Fatalf("banner %+v, want the kettle's notice only", b)
	}
}
