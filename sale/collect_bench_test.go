package sale

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// collectBuyers is the size of the state BenchmarkCollect collects.
const collectBuyers = 500_000

// BenchmarkCollect measures a full collection of the heap a rush leaves: a
// state of collectBuyers buyers (rushState) and nothing else. One op is one
// runtime.GC; cpu-ms/op is the process's CPU time per collection, and
// scan-MB the heap the collector scans for pointers (the runtime's own
// count, which does not move with the machine's load).
func BenchmarkCollect(b *testing.B) {
	s := rushState(b, collectBuyers)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	scan := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(scan)
	measure(b, runtime.GC)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	if scan[0].Value.Kind() == metrics.KindUint64 {
		b.ReportMetric(float64(scan[0].Value.Uint64())/(1<<20), "scan-MB")
	}
	runtime.KeepAlive(s)
}
