package defaults

import (
	"log/slog"
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{{0, time.Second}, {-1, time.Second}, {time.Minute, time.Minute}} {
		v := c.in
		Positive(&v, time.Second)
		if v != c.want {
			t.Errorf("Positive(%v) = %v, want %v", c.in, v, c.want)
		}
	}
	n := 0
	Positive(&n, 7)
	if n != 7 {
		t.Errorf("Positive(0) = %d, want 7", n)
	}
}

func TestZero(t *testing.T) {
	name, d, n := "", time.Duration(-1), 0
	Zero(&name, "Floodgate")
	Zero(&d, time.Second)
	Zero(&n, 20)
	if name != "Floodgate" || d != -1 || n != 20 {
		t.Fatalf("Zero gave %q, %v, %d; want Floodgate, -1ns, 20", name, d, n)
	}
}

func TestLogging(t *testing.T) {
	var l *slog.Logger
	var now func() time.Time
	Logging(&l, &now)
	if l != slog.Default() || now == nil {
		t.Fatalf("Logging left logger %v, clock set %v", l, now != nil)
	}
	mine := slog.New(slog.DiscardHandler)
	fixed := func() time.Time { return time.Unix(1, 0) }
	Logging(&mine, &fixed)
	if mine == slog.Default() || !fixed().Equal(time.Unix(1, 0)) {
		t.Fatal("Logging replaced fields that were set")
	}
}
