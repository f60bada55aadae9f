package rush

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// The wheel hands jobs to their lanes in the order they fall due, whatever
// the order they came in; when the rush ends it expires what it still
// holds and every job it is given after.
func TestWheelHandsOverInDueOrderAndExpiresAtTheEnd(t *testing.T) {
	expired := make(chan *job, 8)
	w := newWheel(func(j *job) { expired <- j })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx); close(done) }()

	lane := make(chan *job, 8)
	pauses := []time.Duration{40 * time.Millisecond, 0, 20 * time.Millisecond, 30 * time.Millisecond, 10 * time.Millisecond}
	jobs := make([]*job, len(pauses))
	for i, d := range pauses {
		jobs[i] = &job{attempt: i}
		w.after(jobs[i], lane, d)
	}
	kept := &job{attempt: 99}
	w.after(kept, lane, time.Hour)
	for _, want := range []int{1, 4, 2, 3, 0} {
		j := <-lane
		if j.attempt != want {
			t.Fatalf("job %d handed over, want %d", j.attempt, want)
		}
		if j.queued.IsZero() {
			t.Errorf("job %d handed over without the time it was queued", j.attempt)
		}
	}
	cancel()
	<-done
	if j := <-expired; j != kept {
		t.Fatalf("expired job %d, want the one due in an hour", j.attempt)
	}
	late := &job{attempt: 7}
	w.after(late, lane, 0)
	if j := <-expired; j != late {
		t.Fatalf("a job given after the end expired as %d", j.attempt)
	}
	select {
	case j := <-lane:
		t.Fatalf("job %d handed over after the end", j.attempt)
	default:
	}
}

// The wheel's heap gives its entries back earliest first.
func TestWheelHeapPopsEarliestFirst(t *testing.T) {
	w := newWheel(nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		w.push(&job{due: rng.Int64N(500)})
		if rng.IntN(3) == 0 {
			w.pop()
		}
	}
	last := int64(-1)
	for len(w.h) > 0 {
		j := w.pop()
		if j.due < last {
			t.Fatalf("due %d after %d", j.due, last)
		}
		last = j.due
	}
}

// BenchmarkWheelHeap is the wheel's heap with 100,000 visitors waiting, as
// in a default rush: each round pops the earliest and puts it back later.
func BenchmarkWheelHeap(b *testing.B) {
	w := newWheel(nil)
	rng := rand.New(rand.NewPCG(1, 2))
	jobs := make([]*job, 100_000)
	for i := range jobs {
		jobs[i] = &job{due: rng.Int64N(int64(15 * time.Second))}
		w.push(jobs[i])
	}
	b.ResetTimer()
	for range b.N {
		j := w.pop()
		j.due += rng.Int64N(int64(15 * time.Second))
		w.push(j)
	}
}
