package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/status"
)

// TestIncidentsPageShowsTheStatusAPIsIncidents: an incident opened and
// updated from the console goes through the status page's API, and the
// incidents page shows it from that API with every update's message; a bad
// form is answered beside its field with the API's message.
func TestIncidentsPageShowsTheStatusAPIsIncidents(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	csrf := e.signIn(c)

	bad := url.Values{"csrf": {csrf}, "name": {""}, "status": {"investigating"}, "impact": {"minor"}, "message": {"x"}}
	if st, _, page := e.post(c, "/admin/incidents", bad); st != http.StatusBadRequest || !strings.Contains(page, `id="e-name"`) {
		t.Fatalf("an incident without a name: %d\n%.3000s", st, page)
	}

	open := url.Values{"csrf": {csrf}, "name": {"Checkout is slow"}, "status": {"investigating"}, "impact": {"minor"},
		"message": {"Payments take a minute to confirm."}}
	if st, loc, _ := e.post(c, "/admin/incidents", open); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/incidents") {
		t.Fatalf("open an incident: %d %s", st, loc)
	}
	var list struct{ Incidents []status.Incident }
	if st := e.api(root, http.MethodGet, "/api/v1/incidents", "", &list); st != http.StatusOK || len(list.Incidents) != 1 {
		t.Fatalf("the status API after the console opened one: %d %+v", st, list)
	}
	id := list.Incidents[0].ID
	update := url.Values{"csrf": {csrf}, "status": {"identified"}, "message": {"A card network answers slowly."}}
	if st, loc, _ := e.post(c, "/admin/incidents/"+url.PathEscape(id)+"/updates", update); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/incidents") {
		t.Fatalf("update the incident: %d %s", st, loc)
	}

	st, page := e.get(c, "/admin/incidents")
	if st != http.StatusOK {
		t.Fatalf("the incidents page: %d\n%.3000s", st, page)
	}
	for _, want := range []string{"Checkout is slow", id, "Payments take a minute to confirm.", "<strong>identified</strong> A card network answers slowly."} {
		if !strings.Contains(page, want) {
			t.Errorf("the incidents page lacks %q:\n%.4000s", want, page)
		}
	}
}
