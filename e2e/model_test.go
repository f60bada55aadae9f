package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The sequential model of one drop's stock, for porcupine. Every hold is of
// one unit. The state is what GET /api/v1/drops/{drop} shows:
// available, held and sold. An operation is legal only where the sequential
// sale allows it, so a history is linearizable only if some order of the
// operations, consistent with real time, sells no unit twice:
//
//	hold → ok          needs available > 0; moves one unit available → held
//	hold → sold_out    needs available == 0; changes nothing
//	order → ok         needs held > 0; moves one unit held → sold
//	release → ok       needs held > 0; moves one unit held → available
//	read → (a, h, s)   needs exactly that state
//
// An oversell shows up as a hold or an order that no order of operations
// can make legal, or as a read that no state explains.
//
// Checking that alone is NP-hard in the number of concurrent operations:
// 100 interchangeable holds around a read that saw 40 of them leave
// C(100, 40) candidate orders. Two facts the API shows pin the order down
// and make the check fast: hold ids carry the sale's hold counter ("h_<n
// base 36>_…", n = 1, 2, 3… in log order), and vouchers are handed out in the
// order of the drop's list. An operation that knows its number (Seq > 0) is
// legal only as the Seq-th of its kind; one that does not (Seq == 0) is
// checked by counts alone. Either way an oversell is illegal.

type stockOp int

const (
	opHold stockOp = iota
	opOrder
	opRelease
	opRead
)

func (o stockOp) String() string {
	return [...]string{"hold", "order", "release", "read"}[o]
}

// stockState is the model's state: available, held, sold, and the number of
// holds given so far.
type stockState struct{ Available, Held, Sold, Holds int64 }

// counters is what a read of the drop shows.
type counters struct{ Available, Held, Sold int64 }

// stockOutput is what an operation answered: for a hold, ok or sold out; for
// a read, the counters. Seq is the 1-based number of a hold or an order when
// the answer tells it, else 0.
type stockOutput struct {
	OK    bool
	Seq   int64
	Read  counters
	Notes string // for the visualization only
}

func stockModel(stock int64) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return stockState{Available: stock} },
		Step: func(state, input, output any) (bool, any) {
			s := state.(stockState)
			out := output.(stockOutput)
			switch input.(stockOp) {
			case opHold:
				if !out.OK {
					return s.Available == 0, s
				}
				if s.Available == 0 || out.Seq != 0 && out.Seq != s.Holds+1 {
					return false, s
				}
				return true, stockState{s.Available - 1, s.Held + 1, s.Sold, s.Holds + 1}
			case opOrder:
				if s.Held == 0 || out.Seq != 0 && out.Seq != s.Sold+1 {
					return false, s
				}
				return true, stockState{s.Available, s.Held - 1, s.Sold + 1, s.Holds}
			case opRelease:
				if s.Held == 0 {
					return false, s
				}
				return true, stockState{s.Available + 1, s.Held - 1, s.Sold, s.Holds}
			case opRead:
				return out.Read == counters{s.Available, s.Held, s.Sold}, s
			}
			return false, s
		},
		Hash: func(state any) uint64 {
			s := state.(stockState)
			return uint64(s.Available)<<48 ^ uint64(s.Held)<<32 ^ uint64(s.Sold)<<16 ^ uint64(s.Holds)
		},
		DescribeOperation: func(input, output any) string {
			out := output.(stockOutput)
			switch input.(stockOp) {
			case opHold:
				if out.OK {
					return fmt.Sprintf("hold #%d → ok %s", out.Seq, out.Notes)
				}
				return "hold → sold_out " + out.Notes
			case opRead:
				return fmt.Sprintf("read → %+v", out.Read)
			}
			return fmt.Sprintf("%v #%d → ok %s", input, out.Seq, out.Notes)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%+v", state) },
	}
}

// history records operations with their real-time intervals. It is safe
// for concurrent use.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

func newHistory() *history { return &history{start: time.Now()} }

// now is the monotonic time since the history started, in nanoseconds.
func (h *history) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *history) add(client int, op stockOp, call, ret int64, out stockOutput) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: op, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// holdSeq reads the hold counter out of a hold id "h_<n base 36>_…"; 0
// when the id has another form.
func holdSeq(id string) int64 {
	rest, ok := strings.CutPrefix(id, "h_")
	if !ok {
		return 0
	}
	num, _, ok := strings.Cut(rest, "_")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(num, 36, 64)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// check runs porcupine on the history, with or without the reads of the
// counters. On a violation it writes the visualization next to the test
// binary's temp files and fails the test.
func (h *history) check(tb testing.TB, stock int64, timeout time.Duration, reads bool) porcupine.CheckResult {
	tb.Helper()
	h.mu.Lock()
	var ops []porcupine.Operation
	for _, op := range h.ops {
		if reads || op.Input.(stockOp) != opRead {
			ops = append(ops, op)
		}
	}
	h.mu.Unlock()
	model := stockModel(stock)
	res, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	if res == porcupine.Illegal {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("floodgate-linearizability-%d.html", time.Now().UnixNano()))
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(model, info, f)
			f.Close()
		}
		tb.Errorf("the history of %d operations is not linearizable against the stock model; visualization: %s", len(ops), path)
	}
	return res
}

// TestStockModelCatchesOversell makes sure the model and checker can fail:
// a sequential oversell, a concurrent one, and a read of impossible
// counters are rejected; a correct concurrent history is accepted.
func TestStockModelCatchesOversell(t *testing.T) {
	ok := stockOutput{OK: true}
	op := func(client int, in stockOp, call, ret int64, out stockOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret, Output: out}
	}
	cases := []struct {
		name  string
		stock int64
		ops   []porcupine.Operation
		want  porcupine.CheckResult
	}{
		{"two holds of one unit, one after the other", 1, []porcupine.Operation{
			op(0, opHold, 0, 1, ok), op(1, opHold, 2, 3, ok)}, porcupine.Illegal},
		{"three concurrent holds of two units", 2, []porcupine.Operation{
			op(0, opHold, 0, 10, ok), op(1, opHold, 0, 10, ok), op(2, opHold, 0, 10, ok)}, porcupine.Illegal},
		{"an order without a hold", 1, []porcupine.Operation{op(0, opOrder, 0, 1, ok)}, porcupine.Illegal},
		{"sold out while a unit is free", 1, []porcupine.Operation{
			op(0, opHold, 0, 1, stockOutput{})}, porcupine.Illegal},
		{"a read that lost a sale", 2, []porcupine.Operation{
			op(0, opHold, 0, 1, ok), op(0, opOrder, 2, 3, ok),
			op(1, opRead, 4, 5, stockOutput{Read: counters{2, 0, 0}})}, porcupine.Illegal},
		{"concurrent holds, a sold out, orders and reads", 2, []porcupine.Operation{
			op(0, opHold, 0, 10, ok), op(1, opHold, 0, 10, ok), op(2, opHold, 5, 12, stockOutput{}),
			op(3, opRead, 1, 2, stockOutput{Read: counters{1, 1, 0}}),
			op(0, opOrder, 11, 20, ok), op(1, opRelease, 11, 20, ok),
			op(3, opRead, 21, 22, stockOutput{Read: counters{1, 0, 1}})}, porcupine.Ok},
		{"numbered holds out of real-time order", 2, []porcupine.Operation{
			op(0, opHold, 0, 1, stockOutput{OK: true, Seq: 2}), op(1, opHold, 2, 3, stockOutput{OK: true, Seq: 1})}, porcupine.Illegal},
		{"numbered concurrent holds and orders", 3, []porcupine.Operation{
			op(0, opHold, 0, 10, stockOutput{OK: true, Seq: 2}), op(1, opHold, 0, 10, stockOutput{OK: true, Seq: 1}),
			op(2, opHold, 0, 10, stockOutput{OK: true, Seq: 3}),
			op(1, opOrder, 11, 20, stockOutput{OK: true, Seq: 2}), op(0, opOrder, 11, 20, stockOutput{OK: true, Seq: 1}),
			op(3, opRead, 21, 22, stockOutput{Read: counters{0, 1, 2}})}, porcupine.Ok},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(stockModel(tc.stock), tc.ops, 10*time.Second); got != tc.want {
				t.Fatalf("check = %s, want %s", got, tc.want)
			}
		})
	}
}
