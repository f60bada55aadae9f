package sale

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/floodgate/floodgate/internal/nice"
)

// BenchmarkApplyBatch measures the state machine alone: decoding batches of
// 256 encoded commands (a hold and an order per buyer, as in a rush) and
// applying them, as the store's FSM does (ApplyBatch). One op is one command.
func BenchmarkApplyBatch(b *testing.B) {
	const batchSize = 256
	n := b.N
	s, now := rushOpen(b, "bench", int64(n/2+1))
	var batches [][]byte
	var cur [][]byte
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, AppendBatch(nil, cur))
			cur = nil
		}
	}
	for i := range n {
		buyer := int64(i / 2)
		v := "visitor-" + strconv.FormatInt(buyer, 10)
		var c Command
		if i%2 == 0 {
			c = Command{Kind: KindHold, Now: now, Drop: "bench", Visitor: v, Seq: buyer, Quantity: 1}
		} else {
			hold := "h_" + strconv.FormatUint(uint64(buyer)+1, 36) + "_" + shortID(v)
			c = Command{Kind: KindOrder, Now: now, HoldID: hold, Visitor: v, Customer: v + "@example.com", IdemKey: v}
		}
		cur = append(cur, AppendCommand(nil, &c))
		if len(cur) == batchSize {
			flush()
		}
	}
	flush()
	b.ReportAllocs()
	b.ResetTimer()
	runtime.LockOSThread() // the applying thread's own time, below
	defer runtime.UnlockOSThread()
	user0, sys0 := nice.ThreadTimes()
	cpu0 := nice.ProcessCPU()
	refused := 0
	for _, batch := range batches {
		_, err := s.ApplyBatch(batch, func(_ int, res Result) {
			if res.Err != nil {
				refused++
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := nice.ProcessCPU() - cpu0
	user, sys := nice.ThreadTimes()
	if refused > 0 {
		b.Fatalf("%d of %d commands refused; the benchmark must measure successful holds and orders", refused, n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commands/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/command")
	// The thread that applied the commands: its user time, and its system
	// time (page faults, mapping new chunks) apart, without the collector's
	// workers and other goroutines that cpu-ns/command adds in.
	b.ReportMetric(float64((user-user0).Nanoseconds())/float64(n), "thread-user-ns/command")
	b.ReportMetric(float64((sys-sys0).Nanoseconds())/float64(n), "thread-sys-ns/command")
}
