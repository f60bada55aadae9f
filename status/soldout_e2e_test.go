package status

import (
	"net/http"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestRestockEndsTheSoldOutNotice: on a real node, a drop that sold out
// shows its sold-out notice on the status page; once the operator raises
// its stock and it is on sale again, the notice ends (summary.json and the
// banner no longer say it is sold out).
func TestRestockEndsTheSoldOutNotice(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test on the real binary")
	}
	c := testkit.StartNode(t, testkit.Options{})
	c.MustCreateDrop(t, testkit.DropRequest{ID: "lamp", Name: "Desk lamp", Stock: 1, PerCustomerLimit: 1, AdmitPerSecond: 100})
	c.MustBuy(t, "lamp", "kim@example.com", "k1")
	soldOutNotice := func() bool {
		s, ok := summaryOf(t, c.URL)
		return ok && hasIncident(s, func(i SPIncident) bool { return strings.Contains(i.Name, "Desk lamp is sold out") })
	}
	testkit.WaitFor(t, "the sold-out notice", soldOutNotice)

	if code := doJSON(t, "PATCH", c.URL+"/api/v1/drops/lamp", c.AdminToken, map[string]any{"stock": 2}, nil); code != http.StatusOK {
		t.Fatalf("restock: %d", code)
	}
	testkit.WaitFor(t, "the notice to end once the drop is on sale again", func() bool { return !soldOutNotice() })
	var b Banner
	if code := doJSON(t, "GET", c.URL+"/api/v1/banner", "", nil, &b); code != http.StatusOK || (b.Active && strings.Contains(b.Title, "sold out")) {
		t.Fatalf("banner after the restock: %d %+v", code, b)
	}
}
