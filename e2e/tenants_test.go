package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/testkit"
)

// TestTenantWebhooksSeeOnlyTheirOrders: two makers and the platform each
// add a webhook sink; buyers order in each one's drop. A maker's webhook
// receives only the orders of its own drops, the platform's receives every
// order, and each maker's feed (GET /api/v1/events) shows only its own.
func TestTenantWebhooksSeeOnlyTheirOrders(t *testing.T) {
	n := testkit.StartNode(t, testkit.Options{}) // --dev: webhooks on loopback are allowed
	var (
		mu  sync.Mutex
		got = map[string][]string{} // receiver path → "seq type drop"
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e floodgate.Event
		if err := json.Unmarshal(b, &e); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], e.Type+" "+e.Order.Drop+" "+e.Order.ID)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)

	clients := map[string]*testkit.Client{"root": n.Client}
	for _, tenant := range []string{"acme", "bolt"} {
		n.MustCreateTenant(t, testkit.TenantRequest{ID: tenant, Name: "Maker " + tenant, MaxDrops: 2})
		clients[tenant] = testkit.NewClient(n.URL, n.MustCreateKey(t, tenant, "owner").Key)
	}
	for who, c := range clients {
		c.MustCreateDrop(t, testkit.DropRequest{ID: who + "-drop", Name: "Drop of " + who, Stock: 5, AdmitPerSecond: 1000})
		c.MustAddSink(t, testkit.SinkRequest{Kind: "webhook", URL: recv.URL + "/" + who, Secret: "a-webhook-secret-of-" + who})
	}
	orders := map[string]string{}
	for who := range clients {
		orders[who] = n.MustBuy(t, who+"-drop", who+"@example.com", "k-"+who).ID
	}
	testkit.WaitFor(t, "every webhook's deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["/acme"]) >= 1 && len(got["/bolt"]) >= 1 && len(got["/root"]) >= 3
	})
	mu.Lock()
	defer mu.Unlock()
	for _, who := range []string{"acme", "bolt"} {
		want := "order.created " + who + "-drop " + orders[who]
		if strings.Join(got["/"+who], ",") != want {
			t.Errorf("%s's webhook received %v, want only [%s]", who, got["/"+who], want)
		}
		evs, err := clients[who].Events(t.Context(), 0, 100, 0)
		if err != nil || len(evs.Events) != 1 || evs.Events[0].Order.ID != orders[who] {
			t.Errorf("%s's feed: %+v %v, want only its order %s", who, evs.Events, err, orders[who])
		}
	}
	var drops []string
	for _, e := range got["/root"] {
		drops = append(drops, strings.Fields(e)[1])
	}
	sort.Strings(drops)
	if strings.Join(drops, ",") != "acme-drop,bolt-drop,root-drop" {
		t.Errorf("the platform's webhook received the orders of %v, want every drop's", drops)
	}
}
