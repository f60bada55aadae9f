package http

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/clientaddr"
)

// TestLimiterBurstAndRate checks the GCRA: a fresh address gets its burst at
// once, then one request per interval; other addresses are not affected.
func TestLimiterBurstAndRate(t *testing.T) {
	l := newLimiter(2, 5) // 2 per second, burst 5
	a := netip.MustParseAddr("198.18.0.1")
	b := netip.MustParseAddr("198.18.0.2")
	now := int64(0)
	for i := 0; i < 5; i++ {
		if !l.allowAt(a, now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allowAt(a, now) {
		t.Fatal("the 6th request at once was allowed; the burst is 5")
	}
	if !l.allowAt(b, now) {
		t.Fatal("another address was limited by the first one's burst")
	}
	now += int64(500 * time.Millisecond)
	if !l.allowAt(a, now) {
		t.Fatal("after one interval one more request must pass")
	}
	if l.allowAt(a, now) {
		t.Fatal("two requests passed after one interval")
	}
	now += int64(10 * time.Second)
	for i := 0; i < 5; i++ {
		if !l.allowAt(a, now) {
			t.Fatalf("after a long pause, request %d of a new burst refused", i+1)
		}
	}
}

// TestStreamLimiter: an address gets at most max open streams; closing one
// frees a place; other addresses are not affected.
func TestStreamLimiter(t *testing.T) {
	l := clientaddr.NewStreams(2)
	a := netip.MustParseAddr("198.18.0.1")
	b := netip.MustParseAddr("198.18.0.2")
	r1, ok1 := l.Acquire(a)
	_, ok2 := l.Acquire(a)
	if !ok1 || !ok2 {
		t.Fatal("the first two streams were refused")
	}
	if _, ok := l.Acquire(a); ok {
		t.Fatal("a third stream from one address was allowed; the limit is 2")
	}
	if _, ok := l.Acquire(b); !ok {
		t.Fatal("another address was refused")
	}
	r1()
	if _, ok := l.Acquire(a); !ok {
		t.Fatal("closing a stream did not free its place")
	}
}

// TestRequestLimitPerTicket: buyers behind one address each get their own
// budget by ticket, calls without a ticket count against the address only,
// and the address as a whole is capped.
func TestRequestLimitPerTicket(t *testing.T) {
	// Rates slow enough that no token comes back while the test runs, even
	// on a loaded machine: only the bursts count.
	s := &Server{reqs: newLimiter(0.001, 2), ipReqs: newLimiter(0.01, 20)}
	ip := netip.MustParseAddr("198.18.0.7")
	req := func(ticket string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/drops/d/queue", nil)
		if ticket != "" {
			r.Header.Set("Authorization", "Bearer "+ticket)
		}
		return r
	}
	for _, tk := range []string{"ticket-a", "ticket-b"} {
		for i := 0; i < 2; i++ {
			if !s.allowRequest(req(tk), ip) {
				t.Fatalf("%s: request %d of its burst refused", tk, i+1)
			}
		}
		if s.allowRequest(req(tk), ip) {
			t.Fatalf("%s: a third request passed; the burst per ticket is 2", tk)
		}
	}
	// Calls without a ticket (sign-in, reading a drop) count only against
	// the address: 200 buyers behind one NAT signing in at once must pass.
	for i := range 3 {
		if !s.allowRequest(req(""), ip) {
			t.Fatalf("call %d without a ticket refused; only the address's budget applies to them", i+1)
		}
	}
	// 9 calls so far from this address (3 per ticket, 3 without); the
	// address allows 20 in a burst, whatever tokens the calls carry.
	passed := 0
	for i := 0; i < 30; i++ {
		if s.allowRequest(req(fmt.Sprintf("fresh-%d", i)), ip) {
			passed++
		}
	}
	if passed != 11 {
		t.Fatalf("%d calls with fresh tokens passed; the address's burst of 20 leaves 11", passed)
	}
}

// TestLimiterGroupsIPv6By64: the addresses of one IPv6 /64 (one subscriber)
// share a limit; another /64 does not; IPv4 addresses stay apart.
func TestLimiterGroupsIPv6By64(t *testing.T) {
	l := newLimiter(1, 2)
	a1 := netip.MustParseAddr("2001:db8:1:2::1")
	a2 := netip.MustParseAddr("2001:db8:1:2:ffff::9")
	other := netip.MustParseAddr("2001:db8:1:3::1")
	if !l.allowAt(a1, 0) || !l.allowAt(a2, 0) {
		t.Fatal("the burst of 2 refused")
	}
	if l.allowAt(a2, 0) {
		t.Fatal("a third request from the same /64 passed: IPv6 addresses of one /64 must share a limit")
	}
	if !l.allowAt(other, 0) {
		t.Fatal("another /64 was limited")
	}
	sl := clientaddr.NewStreams(1)
	if _, ok := sl.Acquire(a1); !ok {
		t.Fatal("first stream refused")
	}
	if _, ok := sl.Acquire(a2); ok {
		t.Fatal("a second stream from the same /64 passed the limit of 1")
	}
}
