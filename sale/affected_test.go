package sale

import (
	"reflect"
	"testing"
)

func TestAffectedListsBuyersWhoHeldOrOrderedInTheWindow(t *testing.T) {
	s := &State{
		Holds: map[string]*Hold{
			"h1": {ID: "h1", Visitor: "v1", CreatedAt: 100, ExpiresAt: 400},                // waiting for sign-in in the window
			"h2": {ID: "h2", Visitor: "v2", CreatedAt: 100, ExpiresAt: 400, OrderID: "o2"}, // ordered in the window
			"h3": {ID: "h3", Visitor: "v3", CreatedAt: 10, ExpiresAt: 50},                  // expired before
			"h4": {ID: "h4", Visitor: "v4", CreatedAt: 900, ExpiresAt: 1200},               // held after
			"h5": {ID: "h5", Visitor: "v5", CreatedAt: 150, ExpiresAt: 400, OrderID: "o5"}, // same customer again
		},
		Orders: map[string]*Order{
			"o2": {ID: "o2", Customer: "kim@example.com", CreatedAt: 250},
			"o5": {ID: "o5", Customer: "kim@example.com", CreatedAt: 300},
		},
	}
	got := s.Affected(200, 500)
	want := []AffectedBuyer{{Customer: "kim@example.com", Email: "kim@example.com"}, {Customer: "ticket:v1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Affected(200, 500) = %+v; want %+v", got, want)
	}
}
