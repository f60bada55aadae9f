package rush

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"
)

// wheel holds the visitors that pause between two requests (a poll's
// pause, a retry's) and hands each to its lane when its time comes. A
// waiting visitor costs an entry in its heap, not a goroutine with a stack
// and a timer: one goroutine sleeps until the earliest entry is due and
// then hands over every entry due by then, so a hundred thousand waiting
// visitors make as many wake-ups as there are distinct moments, not one
// per visitor and request.
type wheel struct {
	base time.Time // dues are nanoseconds since base (monotonic)
	mu   sync.Mutex
	h    dueHeap
	// next is the due the loop sleeps until (math.MaxInt64: until an
	// entry comes); an entry due earlier wakes it through kick.
	next    int64
	stopped bool
	kick    chan struct{}
	// expire ends the visitor of an entry left when the rush ends, or
	// added after: its pause ran into the deadline.
	expire func(*job)
}

func newWheel(expire func(*job)) *wheel {
	return &wheel{base: time.Now(), next: math.MaxInt64, kick: make(chan struct{}, 1), expire: expire}
}

func (w *wheel) now() int64 { return int64(time.Since(w.base)) }

// after puts j into lane once d has passed. A job the wheel takes must not
// be touched until a worker of its lane has it.
func (w *wheel) after(j *job, lane chan *job, d time.Duration) {
	j.lane = lane
	due := w.now() + int64(max(d, 0))
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		w.expire(j)
		return
	}
	j.due = due
	w.push(j)
	kick := due < w.next
	if kick {
		w.next = due
	}
	w.mu.Unlock()
	if kick {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// run hands due entries to their lanes until ctx is done; then it expires
// what is left, and so does every later after.
func (w *wheel) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var batch []*job
	for {
		w.mu.Lock()
		now := w.now()
		for len(w.h) > 0 && w.h[0].due <= now {
			batch = append(batch, w.pop())
		}
		w.next = math.MaxInt64
		if len(w.h) > 0 {
			w.next = w.h[0].due
		}
		next := w.next
		w.mu.Unlock()
		queued := time.Now()
		for i, j := range batch {
			j.queued = queued
			j.lane <- j
			batch[i] = nil
		}
		batch = batch[:0]
		var due <-chan time.Time
		if next != math.MaxInt64 {
			t.Reset(time.Duration(next - now))
			due = t.C
		}
		select {
		case <-due:
		case <-w.kick:
		case <-ctx.Done():
			w.mu.Lock()
			w.stopped = true
			left := w.h
			w.h = nil
			w.mu.Unlock()
			for _, j := range left {
				w.expire(j)
			}
			return
		}
	}
}

// dueHeap orders the waiting jobs by due, earliest first (container/heap).
type dueHeap []*job

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, k int) bool { return h[i].due < h[k].due }
func (h dueHeap) Swap(i, k int)      { h[i], h[k] = h[k], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *dueHeap) Pop() any {
	old := *h
	n := len(old) - 1
	j := old[n]
	old[n] = nil
	*h = old[:n]
	return j
}

func (w *wheel) push(j *job) { heap.Push(&w.h, j) }

func (w *wheel) pop() *job { return heap.Pop(&w.h).(*job) }
