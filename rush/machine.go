package rush

import (
	"context"
	"net/http"
	"time"
)

// A real visitor's wait in line (join, then poll at the pace the server's
// ETA suggests) is what most of a rush's requests are, and most of its
// visitors do nothing else. Such a visitor is not a goroutine here but its
// job: the worker that receives an answer reads it and decides the next
// request (advance), and the job waits in the wheel for its pause. What is
// rarer and slower keeps a goroutine of its own, as it did: bots, visitors
// on SSE, a join answered with a challenge or to be retried, and a visitor
// once admitted (hold, sign-in, order, payment). Each of these cases is
// handed to the same code (visitFrom, buy) at the point where the machine
// stops, with the answer in hand, so a visitor does and is counted exactly
// what it did as a goroutine.

// phase is where a visitor of the machine is.
type phase uint8

const (
	phJoin phase = iota // its join is on the way
	phWait              // in line: a poll is on the way or due
)

// arrive starts the visit of v, which arrived now.
func (r *run) arrive(ctx context.Context, v *visitor) {
	r.visiting.Add(1)
	if v.bot || v.sse {
		go func() {
			defer r.visiting.Done()
			r.visit(ctx, v)
		}()
		return
	}
	j := newJob()
	j.ctx, j.v, j.then, j.phase, j.attempt = ctx, v, r.step, phJoin, 1
	j.request(epJoin, "POST", r.queuePath, "", v.addr, false, nil)
	j.queued = time.Now()
	select {
	case r.c.joinLane <- j:
	case <-ctx.Done():
		r.expire(j)
	}
}

// advance takes the answer a worker received for j's visitor.
func (r *run) advance(j *job) {
	v, a := j.v, &j.ans
	switch j.phase {
	case phJoin:
		switch {
		case a.status == http.StatusCreated || a.status == http.StatusOK:
			ticket := r.takeTicket(v, j)
			if ticket == "" {
				r.finish(j)
				return
			}
			r.enterLine(v)
			j.ticket, j.phase = ticket, phWait
			if final(j.st.State) {
				r.leaveLine(j, j.st.State)
				return
			}
			r.pollAfter(j, 0)
		case a.status != 0 && a.status != http.StatusPreconditionRequired && !a.retryable():
			r.joinRefused(v, a)
			r.finish(j)
		case a.status == 0 && j.ctx.Err() != nil:
			// The rush ended: no retry (as join does).
			r.expire(j)
		default:
			// A challenge to solve, or a join to retry.
			r.handOff(j, func() { r.visitFrom(j.ctx, v, j, j.attempt, true) })
		}
	case phWait:
		if state, done, retryAfter := r.pollAnswer(j.ctx, v, j, a); done {
			r.leaveLine(j, state)
		} else {
			r.pollAfter(j, retryAfter)
		}
	}
}

// pollAfter puts j's next poll into the wheel: after the pause the page
// takes, or retryAfter when that is longer.
func (r *run) pollAfter(j *job, retryAfter time.Duration) {
	pause := max(r.pollPause(j.v, &j.st), retryAfter)
	j.request(epStatus, "GET", r.queuePath, j.ticket, j.v.addr, false, nil)
	r.wheel.after(j, r.c.waitLane, pause)
}

// leaveLine ends j's wait in state ("" when it gave up); an admitted
// visitor goes on to buy in a goroutine of its own.
func (r *run) leaveLine(j *job, state string) {
	r.cnt.waiting.Add(-1)
	if !r.afterWait(j.v, state) {
		r.finish(j)
		return
	}
	r.handOff(j, func() { r.buy(j.ctx, j.v, j.ticket) })
}

// handOff goes on with j's visit in a goroutine of its own, with f.
func (r *run) handOff(j *job, f func()) {
	j.then = nil
	go func() {
		f()
		r.finish(j)
	}()
}

// expire ends a visitor whose pause or arrival ran into the deadline, as
// its goroutine would have: a join not retried, a wait given up.
func (r *run) expire(j *job) {
	if j.phase == phWait {
		r.leaveLine(j, "")
		return
	}
	j.v.outcome = outRejected
	r.finish(j)
}

// finish ends a visit: its job goes back.
func (r *run) finish(j *job) {
	j.free()
	r.visiting.Done()
}
