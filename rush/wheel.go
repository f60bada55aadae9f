package rush

import (
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
			for _, e := range left {
				w.expire(e.j)
			}
			return
		}
	}
}

// dueHeap orders the waiting jobs by due, earliest first: a binary heap
// whose entries carry their due, so that ordering them reads the heap's
// own array and not 100,000 jobs spread over the heap of the process (with
// container/heap comparing through the jobs, dueHeap.Less was 3% of the
// generator's CPU, most of it cache misses).
type dueHeap []dueEntry

type dueEntry struct {
	due int64
	j   *job
}

// push adds j at its due (j.due).
func (w *wheel) push(j *job) {
	h := append(w.h, dueEntry{j.due, j})
	e := h[len(h)-1]
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].due <= e.due {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = e
	w.h = h
}

// pop removes and returns the earliest job; the heap must not be empty.
func (w *wheel) pop() *job {
	h := w.h
	top := h[0].j
	n := len(h) - 1
	e := h[n]
	h[n] = dueEntry{}
	h = h[:n]
	if n > 0 {
		i := 0
		for {
			c := 2*i + 1
			if c >= n {
				break
			}
			if c+1 < n && h[c+1].due < h[c].due {
				c++
			}
			if e.due <= h[c].due {
				break
			}
			h[i] = h[c]
			i = c
		}
		h[i] = e
	}
	w.h = h
	return top
}
