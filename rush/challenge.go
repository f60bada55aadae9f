package rush

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/internal/nice"
	"github.com/floodgate/floodgate/internal/pow"
)

// challengeJSON is the join challenge of a 428 answer.
type challengeJSON = pow.Challenge

// solutionJSON is the body of a join that answers a challenge.
type solutionJSON struct {
	Challenge struct {
		ID    string `json:"id"`
		Nonce string `json:"nonce"`
	} `json:"challenge"`
}

func parseChallenge(body []byte) (*challengeJSON, bool) {
	var b struct {
		Challenge *challengeJSON `json:"challenge"`
	}
	if json.Unmarshal(body, &b) != nil || b.Challenge == nil || b.Challenge.Algorithm != "sha256" {
		return nil, false
	}
	return b.Challenge, true
}

// challengeStats is what the challenge cost visitors and bots.
type challengeStats struct {
	visitorChallenges atomic.Int64
	visitorHashes     atomic.Int64
	visitorTime       histogram // wall time of each visitor's solve
	visitorNanos      atomic.Int64
	botChallenges     atomic.Int64
	botSolved         atomic.Int64
	botGaveUp         atomic.Int64 // challenges a bot dropped (expired, or the rush ended)
	botHashes         atomic.Int64
	botNanos          atomic.Int64 // time the bots' solvers spent hashing
	// The highest difficulty seen since the last sample, for the series.
	visitorTop, botTop atomic.Int64
	visitorMax, botMax atomic.Int64
}

func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// solve finds a nonce for ch, checking ctx and the challenge's expiry every
// few thousand hashes. It returns the nonce ("" if it gave up) and the
// hashes it computed.
func solve(ctx context.Context, ch *challengeJSON) (string, int64) {
	prefix, err := base64.RawURLEncoding.DecodeString(ch.Prefix)
	if err != nil || ch.Difficulty < 0 || ch.Difficulty > 64 {
		return "", 0
	}
	buf := make([]byte, len(prefix), len(prefix)+16)
	copy(buf, prefix)
	for i := int64(0); ; i++ {
		if i&0xffff == 0 && i > 0 && (ctx.Err() != nil || time.Now().After(ch.ExpiresAt)) {
			return "", i
		}
		msg := strconv.AppendInt(buf, i, 36)
		sum := sha256.Sum256(msg)
		if pow.LeadingZeroBits(sum[:]) >= ch.Difficulty {
			return string(msg[len(prefix):]), i + 1
		}
	}
}

// botSolver is the CPU of the bot farm: BotSolvers goroutines that every
// bot queues its challenges for, so that the bots' hashing is bounded and
// reported rather than taking the generator's whole machine.
//
// On a real farm that CPU is the bots' own. Here it shares the machine with
// the visitors' simulation (and often the server), so each solver runs on
// its own OS thread at the lowest scheduling priority, with a scheduler slot
// (GOMAXPROCS) of its own: the farm hashes with the cycles nothing else
// wants, and never slows the simulation of everyone else.
type botSolver struct {
	jobs     chan botJob
	cpuNanos atomic.Int64 // CPU time the solver threads used
	stop     func()
}

type botJob struct {
	ctx   context.Context
	ch    *challengeJSON
	reply chan botAnswer
}

type botAnswer struct {
	nonce  string
	hashes int64
	took   time.Duration
}

func newBotSolver(n int) *botSolver {
	n = max(1, n)
	b := &botSolver{jobs: make(chan botJob)}
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(prev + n)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			// Never unlocked: the thread, with its lowered priority, ends
			// with the goroutine.
			runtime.LockOSThread()
			nice.LowerThreadPriority()
			cpu0 := nice.ThreadCPU()
			defer func() { b.cpuNanos.Add(int64(nice.ThreadCPU() - cpu0)) }()
			for {
				select {
				case j := <-b.jobs:
					start := time.Now()
					nonce, hashes := solve(j.ctx, j.ch)
					j.reply <- botAnswer{nonce, hashes, time.Since(start)}
				case <-done:
					return
				}
			}
		})
	}
	b.stop = sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		runtime.GOMAXPROCS(prev)
	})
	return b
}

// close stops the solvers and gives the scheduler slots back.
func (b *botSolver) close() { b.stop() }

// cpu is the CPU time the solvers used (after close: all of it).
func (b *botSolver) cpu() time.Duration { return time.Duration(b.cpuNanos.Load()) }

// answer solves ch for a visitor (in its own goroutine, like a phone does)
// or a bot (in the farm's solvers) and returns the body of the next join,
// or nil when it gave up.
func (r *run) answer(ctx context.Context, v *visitor, ch *challengeJSON) any {
	st := &r.chal
	d := int64(ch.Difficulty)
	var (
		nonce  string
		hashes int64
	)
	if v.bot {
		st.botChallenges.Add(1)
		raise(&st.botTop, d)
		raise(&st.botMax, d)
		j := botJob{ctx: ctx, ch: ch, reply: make(chan botAnswer, 1)}
		select {
		case r.bots.jobs <- j:
		case <-ctx.Done():
			st.botGaveUp.Add(1)
			return nil
		}
		a := <-j.reply
		nonce, hashes = a.nonce, a.hashes
		st.botNanos.Add(int64(a.took))
		st.botHashes.Add(hashes)
		if nonce == "" {
			st.botGaveUp.Add(1)
			return nil
		}
		st.botSolved.Add(1)
	} else {
		st.visitorChallenges.Add(1)
		raise(&st.visitorTop, d)
		raise(&st.visitorMax, d)
		start := time.Now()
		nonce, hashes = solve(ctx, ch)
		took := time.Since(start)
		st.visitorHashes.Add(hashes)
		st.visitorNanos.Add(int64(took))
		st.visitorTime.record(took)
		v.challengeTime += took
		if nonce == "" {
			return nil
		}
	}
	var s solutionJSON
	s.Challenge.ID, s.Challenge.Nonce = ch.ID, nonce
	return s
}

// visitorChallengeP50 is the median time real visitors spent on challenges,
// counting those that were asked for none as 0.
func visitorChallengeP50(vs []*visitor) float64 {
	var ts []time.Duration
	for _, v := range vs {
		if !v.bot {
			ts = append(ts, v.challengeTime)
		}
	}
	if len(ts) == 0 {
		return 0
	}
	slices.Sort(ts)
	return float64(ts[len(ts)/2].Microseconds()) / 1000
}
