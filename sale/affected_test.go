package sale

import (
	"reflect"
	"testing"
)

func TestAffectedListsBuyersWhoHeldOrOrderedInTheWindow(t *testing.T) {
	s := NewState()
	for _, h := range []Hold{
		{ID: "h1", Visitor: "v1", CreatedAt: 100, ExpiresAt: 400},                // waiting for sign-in in the window
		{ID: "h2", Visitor: "v2", CreatedAt: 100, ExpiresAt: 400, OrderID: "o2"}, // ordered in the window
		{ID: "h3", Visitor: "v3", CreatedAt: 10, ExpiresAt: 50},                  // expired before
		{ID: "h4", Visitor: "v4", CreatedAt: 900, ExpiresAt: 1200},               // held after
		{ID: "h5", Visitor: "v5", CreatedAt: 150, ExpiresAt: 400, OrderID: "o5"}, // same customer again
	} {
		s.Holds.add(h, 0)
	}
	for _, o := range []Order{
		{ID: "o2", Customer: "kim@example.com", CreatedAt: 250},
		{ID: "o5", Customer: "kim@example.com", CreatedAt: 300},
	} {
		s.Orders.add(o, 0)
	}
	got := s.Affected(200, 500)
	want := []AffectedBuyer{{Customer: "kim@example.com", Email: "kim@example.com"}, {Customer: "ticket:v1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Affected(200, 500) = %+v; want %+v", got, want)
	}
}
