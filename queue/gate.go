package queue

import (
	"context"
	"crypto/rand"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/sale"
)

// ChallengeStats are the counters of the join challenge on this node.
type ChallengeStats struct {
	Issued   atomic.Uint64 // challenges handed out
	Solved   atomic.Uint64 // tickets given against a solution
	Wrong    atomic.Uint64 // solutions refused as wrong, forged or expired
	Reused   atomic.Uint64 // solutions refused because they were used already
	ByDiffMu sync.Mutex
	ByDiff   [MaxDifficulty + 1]uint64 // challenges issued by difficulty
}

// gate is the join challenge of one node.
type gate struct {
	pressure *pressure
	used     usedSet
	tag      atomic.Pointer[leaderTag]
	stats    ChallengeStats
}

type leaderTag struct {
	epoch uint64
	tag   [8]byte
}

// Challenges returns the counters of the join challenge.
func (s *Service) Challenges() *ChallengeStats { return &s.gate.stats }

// leaderTag is random for each term this node leads; challenges carry it.
func (s *Service) leaderTag() [8]byte {
	e := s.cfg.Store.LeaderEpoch()
	for {
		old := s.gate.tag.Load()
		if old != nil && old.epoch == e {
			return old.tag
		}
		nt := &leaderTag{epoch: e}
		_, _ = rand.Read(nt.tag[:])
		if s.gate.tag.CompareAndSwap(old, nt) {
			// Challenges of an earlier term are refused by their tag now.
			s.gate.used.reset()
			return nt.tag
		}
	}
}

// JoinChallenged hands out a ticket for drop behind the drop's join
// challenge. src is the client's address; sol is its solution, or nil. When
// the client must solve a challenge first, the challenge is returned and no
// ticket.
func (s *Service) JoinChallenged(ctx context.Context, drop string, src netip.Addr, sol *Solution) (string, Status, *Challenge, error) {
	var (
		tok string
		st  Status
	)
	ch, err := s.gated(ctx, drop, src, sol, false, func() error {
		var err error
		tok, st, err = s.Join(ctx, drop)
		return err
	})
	return tok, st, ch, err
}

// Gated runs do behind drop's join challenge, as JoinChallenged does for a
// join: a draw's entries pay the same price as a queue's joins. do runs only
// when no work is due or sol solves a challenge this node issued; a
// solution counts as used only when do succeeds.
func (s *Service) Gated(ctx context.Context, drop string, src netip.Addr, sol *Solution, do func() error) (*Challenge, error) {
	return s.gated(ctx, drop, src, sol, true, do)
}

func (s *Service) gated(ctx context.Context, drop string, src netip.Addr, sol *Solution, entry bool, do func() error) (*Challenge, error) {
	keys, _, err := s.Keys()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var (
		known, closed, soldOut, draw bool
		setting                      int64
	)
	s.cfg.Store.Read(func(st *sale.State) {
		if d, ok := st.Drops[drop]; ok {
			known, closed, setting = true, d.Closed, d.Spec.ChallengeDifficulty
			soldOut = d.DropState(now.UnixMilli()) == floodgate.DropSoldOut
			draw = d.IsDraw()
		}
	})
	if !known || closed || (draw && !entry) || !s.cfg.Store.IsLeader() {
		// do gives the right answer for each (a draw has no queue).
		return nil, do()
	}
	codec := challengeCodec{key: keys.ChallengeKey}
	g := &s.gate
	tag := s.leaderTag()
	// difficulty is what this request must pay; count tells whether it
	// counts as a join attempt of its source.
	difficulty := func(count bool) int {
		switch {
		case soldOut:
			return 0 // nothing to protect any more
		case setting != sale.ChallengeAuto:
			return int(setting)
		case count:
			return g.pressure.join(drop, src, now)
		}
		return g.pressure.peek(drop, src, now)
	}
	challenge := func(d int) *Challenge {
		ch := codec.issue(drop, tag, d, now)
		g.stats.Issued.Add(1)
		g.stats.ByDiffMu.Lock()
		g.stats.ByDiff[d]++
		g.stats.ByDiffMu.Unlock()
		return &ch
	}
	if sol == nil {
		if d := difficulty(true); d > 0 {
			return challenge(d), nil
		}
		return nil, do()
	}
	chk, err := codec.check(drop, *sol, now)
	if err != nil {
		g.stats.Wrong.Add(1)
		return nil, err
	}
	if chk.tag != tag {
		// Issued by another node or in another term of this one: only the
		// issuer can tell whether it was used. Solving a fresh one is the
		// price of a leader change.
		if d := difficulty(false); d > 0 {
			return challenge(d), nil
		}
		return nil, do()
	}
	if !g.used.add(chk.key, now) {
		g.stats.Reused.Add(1)
		return nil, errChallengeUsed
	}
	if err := do(); err != nil {
		// Nothing was given: the solution may be sent again.
		g.used.remove(chk.key)
		return nil, err
	}
	g.stats.Solved.Add(1)
	return nil, nil
}
