// Package presign signs with one Ed25519 key from nonces prepared ahead: a
// pool that a node fills while a drop is on sale, from which queue's join
// tickets and fairness's order receipts (both signed with the ticket key)
// take their signatures' expensive half.
//
// An Ed25519 signature of M is (R, S) with R = r·B and S = r + k·a mod L,
// where k = SHA-512(R ‖ A ‖ M) mod L, a is the secret scalar and A = a·B the
// public key. Verification checks S·B = R + k·A, which holds for any r:
// r·B + k·a·B = R + k·A. RFC 8032 derives r from the key and the message so
// that signing needs no random source; what the signature's security needs
// is that r be uniformly random, secret, and never used twice (two
// signatures with one r give away a = (S₁ − S₂)/(k₁ − k₂)). Here r is drawn
// from crypto/rand (64 bytes reduced mod L, so uniform), R = r·B — the
// expensive part, a fixed-base scalar multiplication and the point encoding —
// is computed ahead, outside the bursts of signatures, each pair is taken
// out of the pool under its lock exactly once and its slot zeroed, and
// signing is left with one SHA-512 and one multiply-add. The signatures are
// ordinary Ed25519 signatures: crypto/ed25519.Verify, golang-jwt and any
// JWKS user accept them. They are not deterministic: the same message signed
// twice gives two different signatures, both valid. Tree heads, which must
// be byte-identical on every node, are signed with ed25519.Sign, never
// through a pool.
//
// Whoever can read the process's memory can read the private key too, so
// the pool adds no exposure of its own; but a node's memory must never run
// twice from one image (a virtual machine snapshot resumed twice, a process
// checkpoint restored twice): both copies would sign different messages
// with the same nonces. The pool is in memory only; a restart starts empty.
package presign

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/edwards25519"

	"github.com/floodgate/floodgate/internal/ed25519key"
	"github.com/floodgate/floodgate/internal/nice"
)

// Pool is the nonces prepared for one Ed25519 key. Its methods may be
// called on a nil *Pool: it has no nonce.
type Pool struct {
	key  *ed25519key.Key
	size int

	mu  sync.Mutex
	ent []nonce // ent[:n] are unused; the rest are zero
	n   int

	wake    chan struct{} // a nonce was taken, or the pool was found empty
	started atomic.Bool
	done    chan struct{} // closed when fill has stopped and wiped the pool

	all      Counts       // every use's signatures, for the log
	lastTake atomic.Int64 // when a signature last asked for a nonce (Unix nanoseconds)
}

// Counts are how one use of a pool signed (tickets, receipts): from a
// prepared nonce, or in full for lack of one.
type Counts struct {
	Prepared, Inline atomic.Uint64
}

// RefillIdle is how long no signature may have asked for a nonce before the
// pool refills: refilling competes with the requests for the CPU, so it
// waits for a lull instead of taking CPU in the middle of a burst.
const RefillIdle = 100 * time.Millisecond

// nonce is a secret nonce r and its commitment R = r·B, encoded: 64 bytes.
type nonce struct {
	r edwards25519.Scalar
	R [32]byte
}

// New returns a pool of size nonces for priv (allocated when it starts), or
// nil when size is not positive or priv is not a consistent Ed25519 private
// key (ed25519.Sign then decides).
func New(priv ed25519.PrivateKey, size int) *Pool {
	if size <= 0 {
		return nil
	}
	key := ed25519key.Expand(priv)
	if key == nil {
		return nil
	}
	return &Pool{key: key, size: size, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Sign writes the signature of msg by priv to sig and reports true, or
// reports false when p is not priv's pool or has no nonce left: the caller
// then signs in full (a signature never waits for the pool). c, when not
// nil, counts the signature as prepared or, when p is priv's pool and is
// filled (Start or Prepare) but empty, inline.
func (p *Pool) Sign(priv ed25519.PrivateKey, c *Counts, sig *[ed25519.SignatureSize]byte, msg []byte) bool {
	// A pool belongs to the key it was built for.
	if p == nil || len(priv) != ed25519.PrivateKeySize || [32]byte(priv[32:]) != p.key.Pub {
		return false
	}
	var e nonce
	p.lastTake.Store(time.Now().UnixNano())
	p.mu.Lock()
	if p.n > 0 {
		p.n--
		e, p.ent[p.n] = p.ent[p.n], nonce{}
	} else {
		// Only a pool that is filled (not one that was never started, as
		// on a node that does not lead, or that has stopped) counts what
		// it could not sign.
		live := p.ent != nil
		p.mu.Unlock()
		if live {
			c.add(false)
			p.all.add(false)
			p.poke()
		}
		return false
	}
	p.mu.Unlock()
	p.poke()
	c.add(true)
	p.all.add(true)

	p.key.Finish(sig, &e.r, &e.R, msg)
	return true
}

// add counts one signature, if c is not nil.
func (c *Counts) add(prepared bool) {
	switch {
	case c == nil:
	case prepared:
		c.Prepared.Add(1)
	default:
		c.Inline.Add(1)
	}
}

// Ready is how many nonces are ready.
func (p *Pool) Ready() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Full reports whether all of the pool's nonces are ready (false for a nil
// pool: it has none).
func (p *Pool) Full() bool { return p != nil && p.Ready() == p.size }

// Prepare puts up to n fresh nonces in the pool now, on the caller's
// goroutine (tests and benchmarks; a node fills its pool with Start).
func (p *Pool) Prepare(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ent == nil {
		p.ent = make([]nonce, p.size)
	}
	for ; n > 0 && p.n < len(p.ent); n-- {
		p.ent[p.n] = newNonce()
		p.n++
	}
}

// room reports whether the pool has room for a nonce; only fill adds any.
func (p *Pool) room() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n < len(p.ent)
}

func (p *Pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// newNonce draws a nonce and computes its commitment.
func newNonce() nonce {
	var b [64]byte
	// crypto/rand never fails: the program stops if the system's random
	// source does.
	_, _ = rand.Read(b[:])
	var e nonce
	_, _ = e.r.SetUniformBytes(b[:])
	clear(b[:])
	copy(e.R[:], new(edwards25519.Point).ScalarBaseMult(&e.r).Bytes())
	return e
}

// Start fills the pool, the first time it is called, until ctx ends.
func (p *Pool) Start(ctx context.Context, log *slog.Logger) {
	if p != nil && p.started.CompareAndSwap(false, true) {
		go p.fill(ctx, log)
	}
}

// Started reports whether Start was called.
func (p *Pool) Started() bool { return p != nil && p.started.Load() }

// Stop waits until the pool started with ctx, if it was, has stopped after
// ctx ended and wiped its nonces.
func (p *Pool) Stop() {
	if p.Started() {
		<-p.done
	}
}

// procsMu serializes the pools' changes of GOMAXPROCS.
var procsMu sync.Mutex

func addProcs(n int) {
	procsMu.Lock()
	defer procsMu.Unlock()
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + n)
}

// fill prepares nonces until the pool is full, then again as they are
// taken, in lulls (RefillIdle), until ctx ends; then it wipes the pool. A
// node that stops signing stops spending.
//
// It runs at the process's normal priority. A thread at the lowest priority
// would take only idle CPU, but on a saturated machine the OS can leave it
// unscheduled for seconds while it holds the pool's lock (every signature
// then waits for it) or while the Go runtime waits for it to stop for a
// garbage collection (then every goroutine waits).
func (p *Pool) fill(ctx context.Context, log *slog.Logger) {
	// Locked for ThreadCPU's figure in the log; the thread ends with the
	// goroutine.
	runtime.LockOSThread()
	// One more P, so that the filling holds no P the requests need.
	addProcs(1)
	defer close(p.done)
	defer addProcs(-1)

	p.mu.Lock()
	if p.ent == nil {
		p.ent = make([]nonce, p.size)
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		clear(p.ent)
		p.ent, p.n = nil, 0
		p.mu.Unlock()
		log.Info("signing ahead stopped", "prepared", p.all.Prepared.Load(), "inline", p.all.Inline.Load())
	}()

	start, cpu0, first := time.Now(), nice.ThreadCPU(), true
	// spare is a nonce prepared while a signature came: it goes into the
	// pool at the next lull, so that the pool never grows during a burst,
	// even when this thread was kept off the CPU between the lull and the
	// pool.
	var buf nonce
	var spare *nonce
	defer func() { buf = nonce{} }()
	for {
		for p.room() {
			if ctx.Err() != nil {
				return
			}
			var seen int64
			if !first {
				var ok bool
				if seen, ok = p.lull(ctx); !ok {
					return
				}
			}
			e := spare
			if e == nil {
				e, buf = &buf, newNonce()
			}
			p.mu.Lock()
			if !first && p.lastTake.Load() != seen {
				p.mu.Unlock()
				spare = e
				continue
			}
			p.ent[p.n] = *e
			p.n++
			p.mu.Unlock()
			spare = nil
		}
		if first {
			first = false
			log.Info("signatures prepared ahead", "nonces", p.size, "took", time.Since(start).Round(time.Millisecond),
				"cpu", (nice.ThreadCPU() - cpu0).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
	}
}

// lull waits until no signature has asked for a nonce for RefillIdle and
// returns when the last one did; false when ctx ended first.
func (p *Pool) lull(ctx context.Context) (lastTake int64, ok bool) {
	for {
		last := p.lastTake.Load()
		quiet := time.Since(time.Unix(0, last))
		if quiet >= RefillIdle {
			return last, true
		}
		t := time.NewTimer(RefillIdle - quiet)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false
		case <-t.C:
		}
	}
}
