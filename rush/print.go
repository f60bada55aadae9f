package rush

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// WriteJSON writes v as one line of JSON: the last line of floodgate rush
// --json, which scripts read.
func WriteJSON(w io.Writer, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", buf)
	return err
}

// WriteText writes the summary as the table floodgate rush prints.
func (s Summary) WriteText(w io.Writer) {
	sellout := "not sold out"
	if s.SelloutSeconds >= 0 {
		sellout = (time.Duration(s.SelloutSeconds * float64(time.Second))).Round(time.Millisecond).String() + " after the opening"
	}
	fmt.Fprintf(w, `
visitors          %d (%d bots, %d admitted)
stock / sold      %d / %d   sold out: %s
oversold          %d
lost orders       %d
duplicate orders  %d
5xx answers       %d
latency           p50 %.1f ms, p99 %.1f ms
fairness          Kendall tau %.4f over %d after-start arrivals (early arrivals: %.4f)
join challenge    visitors: %d solved, median %.1f ms per visitor, up to %d bits; bots: %d challenges, %d solved, %d given up, %.1f s of hashing (%.1f s CPU), up to %d bits
generator CPU     %.0f%% of all cores; without the bots' hashing %.0f µs per visitor, %.0f µs per request; peak RSS %.0f MiB
generator queue   p99 %.0f ms over the visitors' lanes: joins %.0f ms, status polls %.0f ms, buying %.0f ms
requests          %d, %d of them the bots'
`, s.Visitors, s.Bots, s.BotsAdmitted, s.Stock, s.Sold, sellout, s.Oversold, s.LostOrders, s.DuplicateOrders, s.Errors5xx,
		s.P50MS, s.P99MS, s.KendallTau, s.FairnessSample, s.EarlyKendallTau,
		s.VisitorChallenges, s.VisitorChallengeP50MS, s.VisitorMaxBits, s.BotChallenges, s.BotChallengesSolved, s.BotChallengesGaveUp, s.BotSolveSeconds, s.BotCPUSeconds, s.BotMaxBits,
		100*s.GeneratorCPUShare, s.GeneratorCPUPerVisitor, s.GeneratorCPUPerRequest, s.GeneratorPeakRSSMB,
		s.GeneratorQueueP99, s.GeneratorJoinQueueP99, s.GeneratorStatusQueueP99, s.GeneratorBuyQueueP99,
		s.Requests, s.BotRequests)
	fmt.Fprintf(w, "generator exchange  mean / p99 from sent to answered: joins %.1f / %.0f ms, status polls %.1f / %.0f ms, buying %.1f / %.0f ms\n",
		s.GeneratorJoinExchangeMeanMS, s.GeneratorJoinExchangeP99MS, s.GeneratorStatusExchangeMeanMS, s.GeneratorStatusExchangeP99MS, s.GeneratorBuyExchangeMeanMS, s.GeneratorBuyExchangeP99MS)
	if s.ServerJoins == 0 {
		fmt.Fprintln(w, "server time       not read (needs the rush's own server, --demo or --server-pid, and a token that may read /metrics)")
	} else {
		fmt.Fprintf(w, "server time       mean per request: joins %.1f ms over %d (%d waited at the join gate, %.1f ms on average), status polls %.1f ms, buying %.1f ms\n",
			s.ServerJoinMeanMS, s.ServerJoins, s.ServerJoinGateWaited, s.ServerJoinGateWaitMeanMS, s.ServerStatusMeanMS, s.ServerBuyMeanMS)
		for _, p := range s.paces() {
			fmt.Fprintf(w, "pace of %-13s %s\n", p.Lane, p.verdict())
		}
	}
	fmt.Fprintf(w, "waits for a core  goroutines runnable before running: %s\n", s.schedWaits())
	if s.PaymentSeconds > 0 {
		final := "not sold out"
		if s.FinalSelloutSeconds >= 0 {
			final = (time.Duration(s.FinalSelloutSeconds * float64(time.Second))).Round(time.Millisecond).String() + " after the opening"
		}
		fmt.Fprintf(w, `payment           %d s to pay: %d paid, %d never paid, %d paid too late
units recycled    %d (expired or cancelled orders, back on sale)
final sell-out    %s (every unit paid)
`, s.PaymentSeconds, s.Paid, s.Unpaid, s.PaidLate, s.UnitsRecycled, final)
	}
}
