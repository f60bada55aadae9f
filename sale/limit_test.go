package sale

import (
	"fmt"
	"testing"
)

// TestAdmittedVisitorsGetAUnitWithALimitAboveOne: with a per-customer limit
// of 2, each admitted visitor may take 2 units, so admitting one visitor per
// unit left would tell visitors "admitted" whom no unit is left for (they
// would then be refused sold_out). Every visitor admitted must find at
// least one unit, however many the visitors before it took, and the units
// left still reach the queue to the last one.
func TestAdmittedVisitorsGetAUnitWithALimitAboveOne(t *testing.T) {
	for _, limit := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			sp := spec("m", 7)
			sp.PerCustomerLimit = limit
			s, now := openDrop(t, sp, 20)
			d := s.Drops["m"]
			var next int64 // the next visitor to hold, in queue order
			for round := 0; round < 50 && d.Available > 0; round++ {
				for ; next < d.AdmittedUpTo; next++ {
					if d.Available == 0 {
						t.Fatalf("visitor %d was admitted (counter at %d) with no unit left; %d sold or held before it", next, d.AdmittedUpTo, d.Held)
					}
					// Each takes all the limit allows.
					mustOK(t, s, holdCmd("m", fmt.Sprint("v", next), next, min(limit, d.Available), now))
				}
				now += 1000
				tick(t, s, now, false, Issued{Drop: "m", Late: 20})
			}
			if d.Available != 0 || d.Held != 7 {
				t.Fatalf("available %d, held %d: the stock did not reach the queue", d.Available, d.Held)
			}
			if next != d.AdmittedUpTo {
				t.Fatalf("admitted up to %d, but %d visitors took a hold", d.AdmittedUpTo, next)
			}
		})
	}
}
