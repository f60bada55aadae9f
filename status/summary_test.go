package status

import (
	"testing"
	"time"
)

// TestIncidentSummaries: the sale report's view of the incidents, newest
// first, with the time an incident was resolved and none for an open one.
func TestIncidentSummaries(t *testing.T) {
	clock := newFakeClock()
	s, _ := MustOpen(t, func(c *Config) { c.Now = clock.Now })
	old, err := s.CreateIncident(IncidentInput{Name: "Login slow", Impact: ImpactMinor, Message: "Sign-in takes long.", Components: []string{"login"}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if _, err := s.AddUpdate(old.ID, UpdateInput{Status: StatusResolved, Message: "Fixed."}); err != nil {
		t.Fatal(err)
	}
	resolvedAt := clock.Now().UTC().Truncate(time.Millisecond)
	clock.Add(time.Minute)
	open, err := s.CreateIncident(IncidentInput{Name: "Checkout down", Impact: ImpactCritical, Message: "Orders fail.", Components: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.IncidentSummaries()
	if len(got) != 2 || got[0].ID != open.ID || got[1].ID != old.ID {
		t.Fatalf("summaries = %+v; want the open incident, then the resolved one", got)
	}
	if got[0].ResolvedAt != nil || got[0].Impact != ImpactCritical || got[0].Name != "Checkout down" || !got[0].CreatedAt.Equal(open.CreatedAt) {
		t.Errorf("open incident = %+v", got[0])
	}
	if got[1].ResolvedAt == nil || !got[1].ResolvedAt.Equal(resolvedAt) || got[1].Status != StatusResolved {
		t.Errorf("resolved incident = %+v; want resolved at %v", got[1], resolvedAt)
	}
}
