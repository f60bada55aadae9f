package sale

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// statusInputs is everything queue.StatusOf reads of a drop for one ticket.
type statusInputs struct {
	Available, Held, Sold, AwaitingPayment, Stock, StartsAt, AdmitPerSecond int64
	AdmittedUpTo, Unresolved                                                int64
	Closed, Started, Paused                                                 bool
	PauseReason                                                             string
	Pos, Ahead, AheadOfIssued                                               int64
	Known, Admitted                                                         bool
}

func inputsOf(d *Drop, early bool, seq int64) statusInputs {
	pos, known := d.Position(early, seq)
	in := statusInputs{
		Available: d.Available, Held: d.Held, Sold: d.Sold, AwaitingPayment: d.AwaitingPayment,
		Stock: d.Spec.Stock, StartsAt: d.Spec.StartsAt, AdmitPerSecond: d.Spec.AdmitPerSecond,
		AdmittedUpTo: d.AdmittedUpTo, Unresolved: d.Unresolved(),
		Closed: d.Closed, Started: d.Started, Paused: d.Paused, PauseReason: d.PauseReason,
		Pos: pos, Known: known,
	}
	if known {
		in.Ahead = d.Ahead(pos)
		in.Admitted = d.Admitted(pos, 1)
		in.AheadOfIssued = d.Ahead(max(d.Issued, d.AdmittedUpTo))
	}
	return in
}

// TestQueueViewAnswersAsTheDrop replays random command sequences (the
// property test's) in random batches; after every batch the published view
// of each drop must give what queue status reads of the drop itself for
// every ticket around the counters, and no view published earlier may have
// changed since (the views are read without the state's lock). Half of the
// sequences go through a snapshot in the middle, as a restore does.
func TestQueueViewAnswersAsTheDrop(t *testing.T) {
	seqs := 400
	if testing.Short() || raceEnabled {
		seqs = 100
	}
	type published struct {
		v    *Drop
		copy Drop
	}
	reused, skipping := 0, 0
	for seed := uint64(1); seed <= uint64(seqs); seed++ {
		log, _, _ := run(t, seed, 150)
		r := rand.New(rand.NewPCG(seed, 7))
		s := NewState()
		views := map[string]*Drop{}
		var all []published
		for i := 0; i < len(log); {
			end := min(i+1+r.IntN(8), len(log))
			err := SplitBatch(AppendBatch(nil, log[i:end]), func(cmd []byte) error {
				if c, err := DecodeCommand(cmd); err == nil {
					s.Apply(&c)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			i = end
			if r.IntN(20) == 0 {
				s = snapshot(t, s)
			}
			for id, d := range s.Drops {
				prev := views[id]
				v := d.QueueView(prev)
				if v == prev {
					reused++
				} else {
					views[id] = v
					if len(v.EarlySkip) > 0 {
						skipping++
					}
					c := *v
					c.Gaps, c.EarlySkip, c.Batches = slices.Clone(v.Gaps), slices.Clone(v.EarlySkip), slices.Clone(v.Batches)
					all = append(all, published{v, c})
				}
				tickets := []struct {
					early bool
					seq   int64
				}{{true, -1}, {false, -1}}
				for seq := range d.EarlyTotal + 3 {
					tickets = append(tickets, struct {
						early bool
						seq   int64
					}{true, seq})
				}
				for seq := range d.LateNext + 3 {
					tickets = append(tickets, struct {
						early bool
						seq   int64
					}{false, seq})
				}
				for _, tk := range tickets {
					if got, want := inputsOf(v, tk.early, tk.seq), inputsOf(d, tk.early, tk.seq); got != want {
						t.Fatalf("seed %d, drop %s, ticket (%v, %d) after %d commands: view %+v, drop %+v", seed, id, tk.early, tk.seq, i, got, want)
					}
				}
			}
			for _, p := range all {
				if !reflect.DeepEqual(*p.v, p.copy) {
					t.Fatalf("seed %d: a published view changed after %d commands", seed, i)
				}
			}
		}
	}
	// Early positions to skip are rare in these sequences (a dozen views in
	// 400 of them); TestQueueViewKeepsItsEarlySkip covers them.
	if reused == 0 {
		t.Error("no batch left a view unchanged")
	}
	t.Logf("views reused %d times, %d views with early positions to skip", reused, skipping)
}

// TestQueueViewKeepsItsEarlySkip: forgetting skipped positions below the
// counter must not write into the array a published view shares.
func TestQueueViewKeepsItsEarlySkip(t *testing.T) {
	d := &Drop{Started: true, EarlyTotal: 20, AdmittedUpTo: 6}
	d.EarlySkip = []int64{1, 5, 9, 12, 15, 16, 17, 18}
	v := d.QueueView(nil)
	want := inputsOf(v, false, 0)
	if !slices.Equal(v.EarlySkip, []int64{9, 12, 15, 16, 17, 18}) {
		t.Fatalf("view's skipped positions %v", v.EarlySkip)
	}
	d.AdmittedUpTo = 10
	d.forgetEarlySkip()
	if !slices.Equal(d.EarlySkip, []int64{12, 15, 16, 17, 18}) || !slices.Equal(v.EarlySkip, []int64{9, 12, 15, 16, 17, 18}) {
		t.Fatalf("after forgetting: drop %v, view %v", d.EarlySkip, v.EarlySkip)
	}
	if got := inputsOf(v, false, 0); got != want {
		t.Fatalf("the view answers %+v, was %+v", got, want)
	}
	if w := d.QueueView(v); w == v || w.Ahead(19) != d.Ahead(19) {
		t.Fatalf("the view after the counter moved: %+v", w)
	}
}

// TestQueueViewMergesStepsWithoutAllocating: a view's steps are the drop's
// with contiguous ones merged, and publishing the view of a drop that did
// not change allocates nothing, however many steps are inside their window.
func TestQueueViewMergesStepsWithoutAllocating(t *testing.T) {
	d := &Drop{Spec: DropSpec{ID: "d", Stock: 100}, Available: 100, AdmittedUpTo: 40, Issued: 60, Batches: []AdmitBatch{
		{From: 0, To: 10, At: 1, Resolved: 2}, {From: 10, To: 20, At: 2, Resolved: 1},
		{From: 25, To: 30, At: 3}, {From: 30, To: 40, At: 4, Resolved: 4},
	}}
	v := d.QueueView(nil)
	want := []AdmitBatch{{From: 0, To: 20, Resolved: 3}, {From: 25, To: 40, Resolved: 4}}
	if !slices.Equal(v.Batches, want) {
		t.Fatalf("view steps %+v, want %+v", v.Batches, want)
	}
	if got := d.QueueView(v); got != v {
		t.Fatal("an unchanged drop got a new view")
	}
	if n := testing.AllocsPerRun(100, func() { d.QueueView(v) }); n != 0 {
		t.Errorf("the view of an unchanged drop allocates %v times", n)
	}
	for _, change := range []func(b []AdmitBatch) []AdmitBatch{
		func(b []AdmitBatch) []AdmitBatch { b[1].Resolved++; return b },
		func(b []AdmitBatch) []AdmitBatch { b[2].From = 20; return b }, // now contiguous with the first
		func(b []AdmitBatch) []AdmitBatch { return b[:3] },
		func(b []AdmitBatch) []AdmitBatch { return append(b, AdmitBatch{From: 40, To: 41}) },
		func(b []AdmitBatch) []AdmitBatch { return append(b, AdmitBatch{From: 45, To: 46}) },
		func(b []AdmitBatch) []AdmitBatch { return nil },
	} {
		c := *d
		c.Batches = change(slices.Clone(d.Batches))
		nv := c.QueueView(v)
		if nv == v {
			t.Errorf("steps %+v kept the view of %+v", c.Batches, d.Batches)
			continue
		}
		if !slices.Equal(nv.Batches, appendMerged(nil, c.Batches)) {
			t.Errorf("steps %+v: view %+v", c.Batches, nv.Batches)
		}
	}
}
