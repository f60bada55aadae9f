package queue

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
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/ed25519key"
	"github.com/floodgate/floodgate/internal/nice"
)

// DefaultSignAhead is how many ticket signatures the leader prepares ahead
// (Config.SignAhead): 65,536 nonces of 64 bytes, 4 MiB, about a second of
// one core to prepare. That covers most of an opening burst like the default
// rush's (80,000 joins within seconds); joins beyond it are signed in full,
// as they were without the pool; the pool refills in the next lull.
const DefaultSignAhead = 1 << 16

// MaxSignAhead bounds Config.SignAhead: 4,194,304 nonces, 256 MiB.
const MaxSignAhead = 1 << 22

// presigner signs tickets with one Ed25519 key from nonces prepared ahead.
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
// is computed ahead, outside the joins' bursts, each pair is taken out of the pool under its
// lock exactly once and its slot zeroed, and signing is left with one SHA-512
// and one multiply-add. The signatures are ordinary Ed25519 signatures:
// crypto/ed25519.Verify, golang-jwt and any JWKS user accept them. They are
// not deterministic: the same claims signed twice give two different
// tickets, both valid. Tree heads and receipts, which must be byte-identical
// on every node, are signed with ed25519.Sign, never through this pool.
//
// Whoever can read the process's memory can read the private key too, so
// the pool adds no exposure of its own; but a node's memory must never run
// twice from one image (a virtual machine snapshot resumed twice, a process
// checkpoint restored twice): both copies would sign different tickets with
// the same nonces. The pool is in memory only; a restart starts empty.
type presigner struct {
	key  *ed25519key.Key
	size int

	mu  sync.Mutex
	ent []nonce // ent[:n] are unused; the rest are zero
	n   int

	wake    chan struct{} // a nonce was taken, or the pool was found empty
	started atomic.Bool
	done    chan struct{} // closed when fill has stopped and wiped the pool

	prepared, inline atomic.Uint64 // signatures from the pool; signed in full for lack of a nonce
	lastTake         atomic.Int64  // when a join last asked for a nonce (Unix nanoseconds)
}

// refillIdle is how long no join may have asked for a nonce before the pool
// refills: refilling competes with the requests for the CPU, so it waits
// for a lull instead of taking CPU in the middle of a burst.
const refillIdle = 100 * time.Millisecond

// nonce is a secret nonce r and its commitment R = r·B, encoded: 64 bytes.
type nonce struct {
	r edwards25519.Scalar
	R [32]byte
}

// newPresigner returns a pool of size nonces for priv (allocated when it
// starts), or nil when size is not positive or priv is not a consistent
// Ed25519 private key (ed25519.Sign then decides).
func newPresigner(priv ed25519.PrivateKey, size int) *presigner {
	if size <= 0 {
		return nil
	}
	key := ed25519key.Expand(priv)
	if key == nil {
		return nil
	}
	return &presigner{key: key, size: size, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// sign writes the signature of msg to sig and reports true, or reports
// false when the pool has no nonce left (the caller signs in full: a join
// never waits for the pool).
func (p *presigner) sign(sig *[ed25519.SignatureSize]byte, msg []byte) bool {
	var e nonce
	p.lastTake.Store(time.Now().UnixNano())
	p.mu.Lock()
	if p.n > 0 {
		p.n--
		e, p.ent[p.n] = p.ent[p.n], nonce{}
	} else {
		p.mu.Unlock()
		p.inline.Add(1)
		p.poke()
		return false
	}
	p.mu.Unlock()
	p.poke()
	p.prepared.Add(1)

	p.key.Finish(sig, &e.r, &e.R, msg)
	return true
}

// room reports whether the pool has room for a nonce; only fill adds any.
func (p *presigner) room() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n < len(p.ent)
}

// count is how many nonces are ready.
func (p *presigner) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *presigner) poke() {
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

// start fills the pool, the first time it is called, until ctx ends.
func (p *presigner) start(ctx context.Context, log *slog.Logger) {
	if p.started.CompareAndSwap(false, true) {
		go p.fill(ctx, log)
	}
}

// stop waits until the pool started with ctx, if it was, has stopped after
// ctx ended.
func (p *presigner) stop() {
	if p.started.Load() {
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
// taken, in lulls (refillIdle), until ctx ends; then it wipes the pool. A
// node that stops signing stops spending.
//
// It runs at the process's normal priority. A thread at the lowest priority
// would take only idle CPU, but on a saturated machine the OS can leave it
// unscheduled for seconds while it holds the pool's lock (every join then
// waits for it) or while the Go runtime waits for it to stop for a garbage
// collection (then every goroutine waits).
func (p *presigner) fill(ctx context.Context, log *slog.Logger) {
	// Locked for ThreadCPU's figure in the log; the thread ends with the
	// goroutine.
	runtime.LockOSThread()
	// One more P, so that the filling holds no P the requests need.
	addProcs(1)
	defer close(p.done)
	defer addProcs(-1)

	p.mu.Lock()
	p.ent = make([]nonce, p.size)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		clear(p.ent)
		p.ent, p.n = nil, 0
		p.mu.Unlock()
		log.Info("ticket signing stopped", "prepared", p.prepared.Load(), "inline", p.inline.Load())
	}()

	start, cpu0, first := time.Now(), nice.ThreadCPU(), true
	// spare is a nonce prepared while a join came: it goes into the pool
	// at the next lull, so that the pool never grows during a burst, even
	// when this thread was kept off the CPU between the lull and the pool.
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
			log.Info("ticket signatures prepared ahead", "nonces", p.size, "took", time.Since(start).Round(time.Millisecond),
				"cpu", (nice.ThreadCPU() - cpu0).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
	}
}

// lull waits until no join has asked for a nonce for refillIdle and
// returns when the last one did; false when ctx ended first.
func (p *presigner) lull(ctx context.Context) (lastTake int64, ok bool) {
	for {
		last := p.lastTake.Load()
		quiet := time.Since(time.Unix(0, last))
		if quiet >= refillIdle {
			return last, true
		}
		t := time.NewTimer(refillIdle - quiet)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false
		case <-t.C:
		}
	}
}

// registerSignMetrics exports how tickets were signed on this node.
func (s *Service) registerSignMetrics(reg prometheus.Registerer) {
	pool := func(fn func(p *presigner) float64) func() float64 {
		return func() float64 {
			if ks := s.keys.Load(); ks != nil && ks.keys.ahead != nil {
				return fn(ks.keys.ahead)
			}
			return 0
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_ticket_signatures_prepared_total",
			Help: "Tickets signed with a nonce prepared ahead (--sign-ahead)."},
			pool(func(p *presigner) float64 { return float64(p.prepared.Load()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "floodgate_ticket_signatures_inline_total",
			Help: "Tickets signed in full because no prepared nonce was left (not counted with --sign-ahead 0)."},
			pool(func(p *presigner) float64 { return float64(p.inline.Load()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "floodgate_ticket_nonces_ready",
			Help: "Nonces prepared ahead for ticket signatures and not used yet."},
			pool(func(p *presigner) float64 { return float64(p.count()) })),
	)
}
