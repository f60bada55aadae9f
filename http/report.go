package http

import (
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// Report is the answer of GET /api/v1/drops/{drop}/report: what happened in
// one sale, from the replicated state, so every node answers the same.
type Report struct {
	Drop            string                      `json:"drop"`
	Name            string                      `json:"name"`
	State           string                      `json:"state"`
	Paused          bool                        `json:"paused"`
	Stock           int64                       `json:"stock"`
	Available       int64                       `json:"available"`
	Held            int64                       `json:"held"`
	AwaitingPayment int64                       `json:"awaiting_payment"`
	Sold            int64                       `json:"sold"`
	Joined          int64                       `json:"joined"`   // queue positions handed out
	Admitted        int64                       `json:"admitted"` // positions admitted
	Holds           int64                       `json:"holds"`    // holds taken
	Orders          int64                       `json:"orders"`   // orders created, any status
	Paid            int64                       `json:"paid"`     // orders paid
	Funnel          []FunnelStep                `json:"funnel"`
	StartsAt        time.Time                   `json:"starts_at"`
	OpenedAt        *time.Time                  `json:"opened_at,omitempty"`
	SoldOutAt       *time.Time                  `json:"sold_out_at,omitempty"`
	ClosedAt        *time.Time                  `json:"closed_at,omitempty"`
	SelloutSeconds  *float64                    `json:"sellout_seconds"`
	WaitSeconds     Percentiles                 `json:"wait_seconds"` // zeros while nobody is admitted
	WaitSample      int64                       `json:"wait_sample"`  // admitted positions behind wait_seconds
	HoldsExpired    int64                       `json:"holds_expired"`
	HoldsReleased   int64                       `json:"holds_released"`
	Refusals        map[string]int64            `json:"refusals"`
	Fairness        Fairness                    `json:"fairness"`
	Incidents       []floodgate.IncidentSummary `json:"incidents"`
	Challenges      *ChallengeFigures           `json:"challenges,omitempty"`
	Timeline        []TimelinePoint             `json:"timeline"`
	GeneratedAt     time.Time                   `json:"generated_at"`
}

// ChallengeFigures are the join challenge's counts (proof of work against
// bots). They are this node's, since it started, over every drop: the
// challenge is answered by the leader without a log entry per visitor.
type ChallengeFigures struct {
	Scope  string `json:"scope"` // "node"
	Issued uint64 `json:"issued"`
	Solved uint64 `json:"solved"`
	Wrong  uint64 `json:"wrong"`
	Reused uint64 `json:"reused"`
}

// FunnelStep is one step of joined → admitted → held → ordered → paid.
type FunnelStep struct {
	Step  string `json:"step"`
	Count int64  `json:"count"`
}

// Percentiles of a wait, in seconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// Fairness is how closely admission followed arrival.
type Fairness struct {
	KendallTau      float64 `json:"kendall_tau"`       // arrival vs admission over admitted visitors; 1 is first come, first served
	Admitted        int     `json:"admitted"`          // visitors in kendall_tau
	EarlyShuffleTau float64 `json:"early_shuffle_tau"` // early arrivals' arrival vs drawn place; about 0 when the shuffle is fair
	EarlyArrivals   int     `json:"early_arrivals"`
}

// TimelinePoint is the drop's counters at one moment; T is seconds since
// the opening (negative before it).
type TimelinePoint struct {
	T        float64   `json:"t"`
	At       time.Time `json:"at"`
	Joined   int64     `json:"joined"`
	Admitted int64     `json:"admitted"`
	Held     int64     `json:"held"`
	Sold     int64     `json:"sold"`
}

// Report builds the report of drop id as caller c may see it.
func (s *Server) Report(c floodgate.Caller, id string) (Report, error) {
	var rep Report
	now := s.cfg.Now()
	if err := s.readDrop(c, id, func(st *sale.State, d *sale.Drop) { rep = reportOf(st, d, now.UnixMilli()) }); err != nil {
		return Report{}, err
	}
	rep.GeneratedAt = now.UTC()
	if s.cfg.Queue != nil {
		if cs := s.cfg.Queue.Challenges(); cs != nil {
			rep.Challenges = &ChallengeFigures{Scope: "node", Issued: cs.Issued.Load(), Solved: cs.Solved.Load(), Wrong: cs.Wrong.Load(), Reused: cs.Reused.Load()}
		}
	}
	rep.Incidents = []floodgate.IncidentSummary{}
	if s.cfg.Incidents != nil {
		from := rep.StartsAt
		if rep.OpenedAt != nil {
			from = *rep.OpenedAt
		}
		to := now
		if rep.ClosedAt != nil {
			to = *rep.ClosedAt
		} else if rep.SoldOutAt != nil {
			to = *rep.SoldOutAt
		}
		for _, in := range s.cfg.Incidents() {
			// During the sale: opened before its end and not resolved
			// before its start.
			if in.CreatedAt.After(to) || in.ResolvedAt != nil && in.ResolvedAt.Before(from) {
				continue
			}
			rep.Incidents = append(rep.Incidents, in)
		}
	}
	return rep, nil
}

// reportOf reads a drop's report from the state; the caller holds the
// read lock.
func reportOf(st *sale.State, d *sale.Drop, now int64) Report {
	pd := sale.PublicDrop(d, now)
	stats := d.Stats
	rep := Report{
		Drop: pd.ID, Name: pd.Name, State: pd.State, Paused: d.Paused,
		Stock: pd.Stock, Available: pd.Available, Held: pd.Held, AwaitingPayment: pd.AwaitingPayment, Sold: pd.Sold,
		Joined: d.Issued, Admitted: d.AdmittedUpTo, Holds: stats.Holds,
		StartsAt: pd.StartsAt, OpenedAt: optTime(stats.StartedAt), SoldOutAt: optTime(stats.SoldOutAt), ClosedAt: optTime(stats.ClosedAt),
		HoldsExpired: stats.HoldsExpired, HoldsReleased: stats.HoldsReleased,
		Refusals: map[string]int64{},
	}
	for code, n := range stats.Refusals {
		rep.Refusals[code] = n
	}
	for o := range st.Orders.All() {
		if o.Drop != d.Spec.ID {
			continue
		}
		rep.Orders++
		if o.Status == floodgate.OrderPaid {
			rep.Paid++
		}
	}
	rep.Funnel = []FunnelStep{
		{"joined", rep.Joined}, {"admitted", rep.Admitted}, {"held", rep.Holds}, {"ordered", rep.Orders}, {"paid", rep.Paid},
	}
	if stats.SoldOutAt > 0 {
		v := float64(stats.SoldOutAt-d.Spec.StartsAt) / 1000
		rep.SelloutSeconds = &v
	}
	if w, ok := d.WaitPercentiles(0.5, 0.9, 0.99); ok {
		rep.WaitSeconds = Percentiles{P50: w[0], P90: w[1], P99: w[2]}
		rep.WaitSample = d.AdmittedUpTo
	}
	tau, n, early, ne := d.Fairness()
	rep.Fairness = Fairness{KendallTau: tau, Admitted: n, EarlyShuffleTau: early, EarlyArrivals: ne}
	points := append([]sale.Point(nil), stats.Timeline...)
	if !d.Closed {
		points = append(points, d.PointOf(now))
	}
	rep.Timeline = make([]TimelinePoint, 0, len(points))
	for _, p := range points {
		rep.Timeline = append(rep.Timeline, TimelinePoint{
			T: float64(p.At-d.Spec.StartsAt) / 1000, At: sale.Time(p.At),
			Joined: p.Issued, Admitted: p.Admitted, Held: p.Held, Sold: p.Sold,
		})
	}
	return rep
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Report(CallerOf(r), r.PathValue("drop"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rep)
}

// Orders returns the orders of drop id as caller c may see them, oldest
// first, those whose id, customer, voucher or status contain q when q is
// not empty.
func (s *Server) Orders(c floodgate.Caller, id, q string) ([]floodgate.Order, error) {
	var orders []floodgate.Order
	q = strings.ToLower(q)
	err := s.readDrop(c, id, func(st *sale.State, _ *sale.Drop) {
		for o := range st.Orders.All() {
			if o.Drop != id {
				continue
			}
			if q != "" && !strings.Contains(strings.ToLower(o.ID+" "+o.Customer+" "+o.Voucher+" "+o.Status), q) {
				continue
			}
			orders = append(orders, sale.PublicOrder(o))
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(orders, func(i, j int) bool {
		if !orders[i].CreatedAt.Equal(orders[j].CreatedAt) {
			return orders[i].CreatedAt.Before(orders[j].CreatedAt)
		}
		return orders[i].ID < orders[j].ID
	})
	return orders, nil
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet: a
// cell that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe (OWASP's advice for CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// OrdersCSVHeader is the first row of the orders export.
var OrdersCSVHeader = []string{"id", "created_at", "customer", "quantity", "voucher", "status", "hold_id", "pay_by"}

// WriteOrdersCSV writes orders as CSV, every cell safe to open in a
// spreadsheet.
func WriteOrdersCSV(w http.ResponseWriter, drop string, orders []floodgate.Order) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+drop+`-orders.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	_ = cw.Write(OrdersCSVHeader)
	for _, o := range orders {
		payBy := ""
		if o.PayBy != nil {
			payBy = o.PayBy.Format(time.RFC3339)
		}
		_ = cw.Write([]string{
			csvSafe(o.ID), o.CreatedAt.Format(time.RFC3339Nano), csvSafe(o.Customer), strconv.FormatInt(o.Quantity, 10),
			csvSafe(o.Voucher), csvSafe(o.Status), csvSafe(o.HoldID), payBy,
		})
	}
	cw.Flush()
}

func (s *Server) ordersCSV(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("drop")
	orders, err := s.Orders(CallerOf(r), drop, r.URL.Query().Get("q"))
	if err != nil {
		api.WriteError(w, err)
		return
	}
	WriteOrdersCSV(w, drop, orders)
}
