package e2e

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/rush"
)

// saleReport is the part of GET /api/v1/drops/{drop}/report the tests read.
type saleReport struct {
	Drop           string   `json:"drop"`
	Stock          int64    `json:"stock"`
	Sold           int64    `json:"sold"`
	Joined         int64    `json:"joined"`
	Admitted       int64    `json:"admitted"`
	Holds          int64    `json:"holds"`
	Orders         int64    `json:"orders"`
	Paid           int64    `json:"paid"`
	SelloutSeconds *float64 `json:"sellout_seconds"`
	WaitSeconds    *struct {
		P50, P90, P99 float64
	} `json:"wait_seconds"`
	HoldsExpired  int64            `json:"holds_expired"`
	HoldsReleased int64            `json:"holds_released"`
	Refusals      map[string]int64 `json:"refusals"`
	Funnel        []struct {
		Step  string `json:"step"`
		Count int64  `json:"count"`
	} `json:"funnel"`
	Fairness struct {
		KendallTau      float64 `json:"kendall_tau"`
		Admitted        int     `json:"admitted"`
		EarlyShuffleTau float64 `json:"early_shuffle_tau"`
		EarlyArrivals   int     `json:"early_arrivals"`
	} `json:"fairness"`
	Timeline []struct {
		T    float64 `json:"t"`
		Sold int64   `json:"sold"`
	} `json:"timeline"`
}

// TestReportMatchesRushAndOrders runs a small rush against a real node and
// checks the sale report against the orders list, the CSV export and the
// rush's own summary of the same sale.
func TestReportMatchesRushAndOrders(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{})
	ctx := testkit.Context(t, 3*time.Minute)
	res, err := rush.Run(ctx, rush.Config{
		Target: n.URL, AdminToken: n.AdminToken, ServerPid: n.PID(),
		Visitors: 400, Stock: 60, AdmitPerSecond: 100, HoldSeconds: 30,
		EarlyShare: 0.25, BotShare: 0.02, Lead: 2 * time.Second, Window: 3 * time.Second,
		Deadline: 45 * time.Second, InFlight: 32, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	if !sum.Clean() {
		t.Fatalf("the rush broke a promise: %+v", sum)
	}
	var rep saleReport
	if _, err := n.Call(ctx, http.MethodGet, "/api/v1/drops/"+res.Drop+"/report", testkit.Bearer(n.AdminToken), nil, &rep); err != nil {
		t.Fatal(err)
	}
	orders := n.MustOrders(t, res.Drop)
	t.Logf("rush: sold %d, server orders %d, sell-out %.2fs; report: %+v", sum.Sold, sum.ServerOrders, sum.SelloutSeconds, rep)
	if rep.Sold != sum.Sold || rep.Orders != sum.ServerOrders || rep.Orders != int64(len(orders)) || rep.Stock != sum.Stock {
		t.Fatalf("report sold %d orders %d stock %d; rush sold %d, server orders %d, stock %d; orders list %d",
			rep.Sold, rep.Orders, rep.Stock, sum.Sold, sum.ServerOrders, sum.Stock, len(orders))
	}
	if rep.Paid != rep.Orders {
		t.Fatalf("a drop without a payment step: %d paid of %d orders", rep.Paid, rep.Orders)
	}
	// The funnel narrows, and its steps are the report's figures.
	want := []int64{rep.Joined, rep.Admitted, rep.Holds, rep.Orders, rep.Paid}
	for i, st := range rep.Funnel {
		if st.Count != want[i] || i > 0 && st.Count > rep.Funnel[i-1].Count {
			t.Fatalf("funnel %+v", rep.Funnel)
		}
	}
	if rep.Holds < rep.Orders+rep.HoldsExpired+rep.HoldsReleased {
		t.Fatalf("holds %d, fewer than ordered %d + expired %d + released %d", rep.Holds, rep.Orders, rep.HoldsExpired, rep.HoldsReleased)
	}
	if sum.SelloutSeconds >= 0 {
		if rep.SelloutSeconds == nil || *rep.SelloutSeconds < 0 || *rep.SelloutSeconds > sum.SelloutSeconds+1 {
			t.Fatalf("sell-out: report %v, rush %.2f", rep.SelloutSeconds, sum.SelloutSeconds)
		}
	}
	if rep.WaitSeconds == nil || rep.WaitSeconds.P50 > rep.WaitSeconds.P90 || rep.WaitSeconds.P90 > rep.WaitSeconds.P99 {
		t.Fatalf("wait percentiles %+v", rep.WaitSeconds)
	}
	// Early arrivals are shuffled on purpose (tau near 0 among them); the
	// whole admitted line is in between.
	f := rep.Fairness
	if f.EarlyArrivals == 0 || f.Admitted != int(rep.Admitted) || f.KendallTau < -1 || f.KendallTau > 1 || f.EarlyShuffleTau < -0.5 || f.EarlyShuffleTau > 0.5 {
		t.Fatalf("fairness %+v with %d admitted", rep.Fairness, rep.Admitted)
	}
	if len(rep.Timeline) < 2 || rep.Timeline[len(rep.Timeline)-1].Sold != rep.Sold {
		t.Fatalf("timeline ends at %+v, sold %d", rep.Timeline[len(rep.Timeline)-1], rep.Sold)
	}

	resp, err := n.Do(ctx, http.MethodGet, "/api/v1/drops/"+res.Drop+"/orders.csv", testkit.Bearer(n.AdminToken), nil)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("orders.csv: %v %+v", err, resp)
	}
	rows, err := csv.NewReader(bytes.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatalf("orders.csv does not parse: %v", err)
	}
	if len(rows) != len(orders)+1 || rows[0][0] != "id" {
		t.Fatalf("orders.csv has %d rows for %d orders", len(rows), len(orders))
	}
	if resp, _ := n.Do(ctx, http.MethodGet, "/api/v1/drops/"+res.Drop+"/report", nil, nil); resp.Status != http.StatusUnauthorized {
		t.Fatalf("report without the admin token: %d", resp.Status)
	}
}
