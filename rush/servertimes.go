package rush

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The server's own time per request of the routes the lanes call, read
// from its /metrics (the admin token's) at the start and the end of the
// rush. Set next to a lane's exchanges (client.go), it tells who set the
// lane's pace: an exchange that is mostly the server's time kept the
// lane's worker waiting on the server; one much longer than the server's
// time went elsewhere: the generator, the kernel between them, or the
// server before its handler (its histogram times the handler).

// spent is the sum and count of a histogram of the server's, in seconds.
type spent struct{ sum, count float64 }

func (a spent) add(b spent) spent { return spent{a.sum + b.sum, a.count + b.count} }
func (a spent) sub(b spent) spent { return spent{a.sum - b.sum, a.count - b.count} }

// meanMS is the mean in milliseconds; 0 without a sample.
func (a spent) meanMS() float64 {
	if a.count <= 0 {
		return 0
	}
	return a.sum / a.count * 1000
}

// serverTimes are the server's figures for the routes of the visitors'
// lanes. They count every client of the route, the bots' requests too.
type serverTimes struct {
	join, status, buy spent
	gate              spent // the joins that waited at the join gate (http/joingate.go), and how long
	sched             waits // its goroutines' waits for a core (schedwait.go); empty on a server without them
}

func (a serverTimes) sub(b serverTimes) serverTimes {
	return serverTimes{a.join.sub(b.join), a.status.sub(b.status), a.buy.sub(b.buy), a.gate.sub(b.gate), a.sched.sub(b.sched)}
}

// The routes of the lanes, as the server labels its request histogram.
const (
	routeJoin    = "POST /api/v1/drops/{drop}/queue"
	routeStatus  = "GET /api/v1/drops/{drop}/queue"
	routeHold    = "POST /api/v1/drops/{drop}/holds"
	routeSession = "POST /api/v1/session"
	routeOrder   = "POST /api/v1/holds/{hold}/order"
)

// readServerTimes reads the server's /metrics with token; ok is false when
// it cannot (no answer, not allowed, not the text format, not a Floodgate
// node's metrics): the rush then goes without the server's figures.
func readServerTimes(ctx context.Context, c *client, token string) (t serverTimes, ok bool) {
	a := c.do(ctx, call{ep: epAdmin, method: "GET", path: "/metrics", bearer: token})
	if a.status != http.StatusOK {
		return t, false
	}
	fams, err := parseMetrics(a.body)
	if err != nil {
		return t, false
	}
	route := func(r string) spent { return spentOf(histogramOf(fams, "floodgate_http_request_seconds", "route", r)) }
	t.join, t.status = route(routeJoin), route(routeStatus)
	t.buy = route(routeHold).add(route(routeSession)).add(route(routeOrder))
	gate := histogramOf(fams, "floodgate_join_gate_wait_seconds", "", "")
	t.gate = spentOf(gate)
	t.sched = waitsOf(histogramOf(fams, schedFamily, "", ""))
	return t, gate != nil
}

// parseMetrics reads the Prometheus text format into its metric families
// by name.
func parseMetrics(b []byte) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(b))
}

// histogramOf is the histogram of the family name whose label is value
// (the family's first histogram when label is ""); nil when there is none.
func histogramOf(fams map[string]*dto.MetricFamily, name, label, value string) *dto.Histogram {
	f := fams[name]
	if f.GetType() != dto.MetricType_HISTOGRAM {
		return nil
	}
	for _, m := range f.GetMetric() {
		if label == "" || slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == label && l.GetValue() == value }) {
			return m.GetHistogram()
		}
	}
	return nil
}

// countOf is a count expfmt read either as a float or as an integer: it
// keeps one of the two and leaves the other zero.
func countOf(f float64, n uint64) float64 {
	if f != 0 {
		return f
	}
	return float64(n)
}

// spentOf is the sum and count of h; zero when h is nil.
func spentOf(h *dto.Histogram) spent {
	return spent{h.GetSampleSum(), countOf(h.GetSampleCountFloat(), h.GetSampleCount())}
}

// setServerTimes puts the server's figures over the rush in s, with the
// share of each lane's exchange they account for (the exchanges are set).
func (s *Summary) setServerTimes(t serverTimes) {
	s.ServerJoinMeanMS, s.ServerJoins = t.join.meanMS(), int64(t.join.count)
	s.ServerJoinGateWaitMeanMS, s.ServerJoinGateWaited = t.gate.meanMS(), int64(t.gate.count)
	s.ServerStatusMeanMS, s.ServerStatusRequests = t.status.meanMS(), int64(t.status.count)
	s.ServerBuyMeanMS, s.ServerBuyRequests = t.buy.meanMS(), int64(t.buy.count)
	s.ServerJoinShare = share(s.ServerJoinMeanMS, s.GeneratorJoinExchangeMeanMS)
	s.ServerStatusShare = share(s.ServerStatusMeanMS, s.GeneratorStatusExchangeMeanMS)
	s.ServerBuyShare = share(s.ServerBuyMeanMS, s.GeneratorBuyExchangeMeanMS)
	s.ServerSchedRuns, s.ServerSchedWaitP50MS, s.ServerSchedWaitP99MS, s.ServerSchedWaitOver1MSShare = t.sched.figures()
}

func share(server, exchange float64) float64 {
	if exchange <= 0 {
		return 0
	}
	return server / exchange
}

// lanePace is what the summary says of one lane's pace.
type lanePace struct {
	Lane                      string
	WaitP99                   float64 // waited for a worker
	ExchangeMean, ExchangeP99 float64
	ServerMean, Share         float64 // 0: no server figures
	unread                    string  // why the server's figures may be missing, beyond the whole rush's reasons
}

// paces are the visitors' lanes' figures, joins first.
func (s Summary) paces() []lanePace {
	return []lanePace{
		{"joins", s.GeneratorJoinQueueP99, s.GeneratorJoinExchangeMeanMS, s.GeneratorJoinExchangeP99MS, s.ServerJoinMeanMS, s.ServerJoinShare, ""},
		{"status polls", s.GeneratorStatusQueueP99, s.GeneratorStatusExchangeMeanMS, s.GeneratorStatusExchangeP99MS, s.ServerStatusMeanMS, s.ServerStatusShare,
			", or could not be told from the event streams' (the same route), which visitors opened"},
		{"buying", s.GeneratorBuyQueueP99, s.GeneratorBuyExchangeMeanMS, s.GeneratorBuyExchangeP99MS, s.ServerBuyMeanMS, s.ServerBuyShare, ""},
	}
}

// outside is where an exchange's time goes that the server's figures do
// not count.
const outside = "outside the server's handlers: in the generator, the kernel between them, or the server's reading of a request before its handler runs"

// paceShare is the share of a lane's exchange from which its wait counts
// as the server's pace.
const paceShare = 0.8

// verdict says what the measurements say of the lane's pace.
func (p lanePace) verdict() string {
	if p.Share == 0 {
		return "the server's time was not read" + p.unread
	}
	of := fmt.Sprintf("the server's time is %.0f%% of an exchange", 100*p.Share)
	switch {
	case p.WaitP99 <= p.ExchangeP99:
		return fmt.Sprintf("%s; requests hardly waited for a worker (p99 %.1f ms, within an exchange's p99): the lane kept up", of, p.WaitP99)
	case p.Share >= paceShare:
		return fmt.Sprintf("%s: the lane's workers were waiting on the server, and the lane's wait for a worker (p99 %.0f ms) was the server's pace", of, p.WaitP99)
	case p.Share >= 0.5:
		return fmt.Sprintf("%s: the lane's wait for a worker (p99 %.0f ms) was the server's pace in part, and in part the time %s", of, p.WaitP99, outside)
	}
	return fmt.Sprintf("%s: the lane's wait for a worker (p99 %.0f ms) was set by the time %s, not by the server's handlers", of, p.WaitP99, outside)
}
