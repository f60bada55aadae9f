package http

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/queue"
	"github.com/floodgate/floodgate/sale"
)

// inPresale tells whether drop is in its presale now.
func (s *Server) inPresale(drop string) bool {
	var in bool
	now := s.cfg.Now().UnixMilli()
	s.cfg.Store.Read(func(st *sale.State) {
		if d := st.Drops[drop]; d != nil {
			in = d.InPresale(now)
		}
	})
	return in
}

// challengeSetting reads a drop's challenge_difficulty: "auto" (also when
// omitted or null) or an integer from 0 to sale.MaxChallengeDifficulty.
func challengeSetting(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == `"auto"` || string(raw) == "null" {
		return sale.ChallengeAuto, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > sale.MaxChallengeDifficulty {
		return 0, floodgate.Errorf(floodgate.EInvalid, "\"challenge_difficulty\" must be \"auto\" or an integer from 0 to %d.", sale.MaxChallengeDifficulty)
	}
	return n, nil
}

// challengeBody is the 428 answer: the error and the challenge to solve.
type challengeBody struct {
	api.ErrorBody
	Challenge *queue.Challenge `json:"challenge"`
}

// turnedBack answers a request that the join challenge's gate turned back:
// with its error, or with the challenge to solve first (428). It reports
// whether it answered.
func turnedBack(w http.ResponseWriter, ch *queue.Challenge, err error) bool {
	switch {
	case err != nil:
		api.WriteError(w, err)
	case ch != nil:
		writeChallenge(w, ch)
	default:
		return false
	}
	return true
}

func writeChallenge(w http.ResponseWriter, ch *queue.Challenge) {
	var b challengeBody
	b.Error.Code = floodgate.EChallenge
	b.Error.Message = "Solve the join challenge first: find a nonce such that SHA-256(prefix ‖ nonce) begins with " +
		strconv.Itoa(ch.Difficulty) + " zero bits, and send {\"challenge\": {\"id\", \"nonce\"}}."
	b.Challenge = ch
	api.WriteJSON(w, http.StatusPreconditionRequired, b)
}

// registerChallengeMetrics exports the join challenge's counters.
func registerChallengeMetrics(reg *prometheus.Registry, q Queue) {
	if q == nil {
		return
	}
	s := q.Challenges()
	counter := func(name, help string, fn func() uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(fn()) }))
	}
	counter("floodgate_challenges_issued_total", "Join challenges handed out (428 answers).", s.Issued.Load)
	counter("floodgate_challenges_solved_total", "Tickets given against a solved join challenge.", s.Solved.Load)
	counter("floodgate_challenges_wrong_total", "Join challenge solutions refused as wrong, forged or expired.", s.Wrong.Load)
	counter("floodgate_challenges_reused_total", "Join challenge solutions refused because they were used already.", s.Reused.Load)
	reg.MustRegister(byDifficulty{s})
}

// byDifficulty exports how many challenges were issued at each difficulty.
type byDifficulty struct{ s *queue.ChallengeStats }

var byDifficultyDesc = prometheus.NewDesc("floodgate_challenges_issued_by_bits_total",
	"Join challenges handed out, by difficulty in bits.", []string{"bits"}, nil)

func (c byDifficulty) Describe(ch chan<- *prometheus.Desc) { ch <- byDifficultyDesc }

func (c byDifficulty) Collect(ch chan<- prometheus.Metric) {
	c.s.ByDiffMu.Lock()
	counts := c.s.ByDiff
	c.s.ByDiffMu.Unlock()
	for bits, n := range counts {
		if n > 0 {
			ch <- prometheus.MustNewConstMetric(byDifficultyDesc, prometheus.CounterValue, float64(n), strconv.Itoa(bits))
		}
	}
}
