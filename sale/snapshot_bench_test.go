package sale

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/floodgate/floodgate/internal/nice"
)

// rushState returns a state as a rush leaves it: one drop, n buyers with a
// ticket each, most of them with a hold and an order (some paid, some
// awaiting payment), some holding only, and the order feed that goes with
// them.
func rushState(tb testing.TB, n int) *State {
	tb.Helper()
	s, now := rushOpen(tb, "rush", int64(n))
	// Buyers go straight to Apply: checking the whole state after each
	// of them would take quadratic time. Check runs once at the end.
	for i := range n {
		v := "visitor-" + strconv.Itoa(i)
		res := s.Apply(&Command{Kind: KindHold, Now: now, Drop: "rush", Visitor: v, Seq: int64(i), Quantity: 1})
		if res.Err != nil {
			tb.Fatal(res.Err)
		}
		if i%10 == 9 {
			continue // holding, not ordered yet
		}
		res = s.Apply(&Command{Kind: KindOrder, Now: now, HoldID: res.Hold.ID, Visitor: v, Customer: v + "@example.com", IdemKey: "k-" + v})
		if res.Err != nil {
			tb.Fatal(res.Err)
		}
	}
	if err := s.Check(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// snapshotBuyers is the size of the state BenchmarkSnapshot saves and
// restores: the 200,000 buyers of a large drop.
const snapshotBuyers = 200_000

// BenchmarkSnapshot measures encoding a snapshot of a state with
// snapshotBuyers buyers and restoring it (one op is one snapshot), with
// this package's Marshal and Unmarshal and, alternated with them in the
// same run, with encoding/json as the code before them did.
func BenchmarkSnapshot(b *testing.B) {
	s := rushState(b, snapshotBuyers)
	buf, err := s.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	encoders := []struct {
		name string
		enc  func() ([]byte, error)
		dec  func([]byte) (*State, error)
	}{
		{"encoding-json", func() ([]byte, error) { return json.Marshal(s) }, oldUnmarshal},
		{"sale", s.Marshal, Unmarshal},
	}
	for _, e := range encoders {
		b.Run("marshal/"+e.name, func(b *testing.B) {
			measure(b, func() {
				if _, err := e.enc(); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(float64(len(buf)), "bytes/snapshot")
		})
		b.Run("restore/"+e.name, func(b *testing.B) {
			measure(b, func() {
				if _, err := e.dec(buf); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := nice.ProcessCPU()
	for range b.N {
		op()
	}
	b.StopTimer()
	b.ReportMetric(float64((nice.ProcessCPU()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
}
