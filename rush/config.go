package rush

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Config describes a rush. Zero values take the defaults of DefaultConfig.
type Config struct {
	// Target is the base URL of the server, e.g. http://127.0.0.1:8080.
	Target string
	// AdminToken creates the drop and reads its orders list at the end.
	AdminToken string
	// Drop is an existing drop to rush; empty creates a fresh one.
	Drop string

	Visitors         int     // visitors in total, bots included
	Stock            int64   // units on sale (for a drop the rush creates)
	PerCustomerLimit int64   // units one customer may buy
	AdmitPerSecond   int64   // admission rate of the drop
	HoldSeconds      int64   // hold lifetime of the drop
	Vouchers         bool    // give every unit a voucher code, checked for duplicates
	EarlyShare       float64 // share of visitors arriving before the opening
	BotShare         float64 // share of visitors that are bots
	BotAddrs         int     // client addresses all bots share
	BotAttempts      int     // join attempts a bot makes before it gives up
	SSEShare         float64 // share of real visitors that wait over SSE
	DoubleSubmit     float64 // share of buyers that send their order twice (same key)
	// ChallengeDifficulty is the challenge_difficulty of a drop the rush
	// creates: "auto", or "0" to "28"; empty leaves the server's default.
	ChallengeDifficulty string
	// BotSolvers is how many threads all bots share to solve join
	// challenges: the bot farm's CPU. Visitors solve in their own
	// goroutine, as each phone does.
	BotSolvers int
	// FarmBinary is a floodgate binary to run the bots' farm in, in a
	// process of its own (`floodgate rush --bot-farm`, ServeFarm); empty
	// runs it in goroutines of the generator.
	FarmBinary string

	// PaymentSeconds > 0 gives the drop a payment step (rush/payment.go):
	// UnpaidShare of the buyers never pay, the others pay within PayDelay.
	PaymentSeconds int64
	UnpaidShare    float64
	PayDelay       time.Duration

	// Lead is the time from now to the opening for a drop the rush creates;
	// early arrivals come within it.
	Lead time.Duration
	// Window is the time after the opening within which the rest arrive.
	Window time.Duration
	// Burst is the time constant of the opening burst: arrivals after the
	// opening thin out as exp(-t/Burst).
	Burst time.Duration
	// Deadline is when, counted from the opening, visitors still waiting
	// give up and the rush ends.
	Deadline time.Duration
	// MinPoll and MaxPoll bound the pause between two status polls of a
	// waiting visitor; within them it follows half the server's ETA.
	MinPoll, MaxPoll time.Duration
	// InFlight bounds requests in flight (and connections).
	InFlight int
	// Seed makes the arrival schedule reproducible.
	Seed uint64

	// Progress receives a line of live counters every ProgressEvery; nil
	// for none.
	Progress      io.Writer
	ProgressEvery time.Duration
	// ServerPid, when the server runs on this machine, lets the rush report
	// the server's CPU share and memory.
	ServerPid int
}

// DefaultConfig is the sell-out of the story: 100,000 visitors for 3,000
// units, 20% of them in the 10 s before the opening, the rest within 10 s
// after it, 2% bots.
func DefaultConfig() Config {
	return Config{
		Visitors:         100_000,
		Stock:            3000,
		PerCustomerLimit: 1,
		AdmitPerSecond:   2000,
		HoldSeconds:      120,
		Vouchers:         true,
		EarlyShare:       0.2,
		BotShare:         0.02,
		BotAddrs:         4,
		BotAttempts:      20,
		SSEShare:         0.01,
		DoubleSubmit:     0.05,
		BotSolvers:       1,
		Lead:             10 * time.Second,
		Window:           10 * time.Second,
		Burst:            2 * time.Second,
		Deadline:         60 * time.Second,
		MinPoll:          500 * time.Millisecond,
		MaxPoll:          15 * time.Second,
		InFlight:         256,
		Seed:             1,
		ProgressEvery:    time.Second,
	}
}

func (c *Config) fillDefaults() {
	d := DefaultConfig()
	setIf := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setIf(&c.Visitors, d.Visitors)
	setIf(&c.BotAddrs, d.BotAddrs)
	setIf(&c.BotAttempts, d.BotAttempts)
	setIf(&c.InFlight, d.InFlight)
	setIf(&c.BotSolvers, d.BotSolvers)
	for _, p := range []struct{ v, def *int64 }{{&c.Stock, &d.Stock}, {&c.PerCustomerLimit, &d.PerCustomerLimit}, {&c.AdmitPerSecond, &d.AdmitPerSecond}, {&c.HoldSeconds, &d.HoldSeconds}} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	for _, p := range []struct{ v, def *time.Duration }{{&c.Lead, &d.Lead}, {&c.Window, &d.Window}, {&c.Burst, &d.Burst}, {&c.Deadline, &d.Deadline}, {&c.MinPoll, &d.MinPoll}, {&c.MaxPoll, &d.MaxPoll}, {&c.ProgressEvery, &d.ProgressEvery}} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
}

func (c *Config) validate() error {
	switch {
	case c.Target == "":
		return fmt.Errorf("no target: give --target URL, or --demo to rush a server started on loopback")
	case c.AdminToken == "":
		return fmt.Errorf("no admin token: the rush needs it to create the drop and to read the orders list at the end; give --admin-token or set FLOODGATE_ADMIN_TOKEN")
	case c.Visitors < 1:
		return fmt.Errorf("--visitors must be at least 1, not %d", c.Visitors)
	case c.Stock < 1:
		return fmt.Errorf("--stock must be at least 1, not %d", c.Stock)
	case c.EarlyShare < 0 || c.EarlyShare > 1, c.BotShare < 0 || c.BotShare > 1, c.SSEShare < 0 || c.SSEShare > 1, c.DoubleSubmit < 0 || c.DoubleSubmit > 1, c.UnpaidShare < 0 || c.UnpaidShare > 1:
		return fmt.Errorf("shares (--early, --bots, --sse, --double-submit, --unpaid) must lie between 0 and 1")
	case c.PaymentSeconds < 0 || c.PayDelay < 0:
		return fmt.Errorf("--payment-seconds and --pay-delay must not be negative")
	case c.Deadline <= c.Window:
		return fmt.Errorf("--deadline (%v) must be longer than --window (%v), or late visitors never get a chance", c.Deadline, c.Window)
	case c.MinPoll > c.MaxPoll:
		return fmt.Errorf("--min-poll (%v) must not exceed --max-poll (%v)", c.MinPoll, c.MaxPoll)
	}
	return nil
}

// schedule draws the visitors of a rush: arrival times relative to the
// opening, who is a bot, who waits over SSE. Visitors come back sorted by
// arrival, so a visitor's id is its arrival rank.
func schedule(c Config) []*visitor {
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	vs := make([]*visitor, c.Visitors)
	burst := c.Burst.Seconds()
	window := c.Window.Seconds()
	// Inverse CDF of an exponential truncated to [0, window).
	tail := 1 - math.Exp(-window/burst)
	for i := range vs {
		v := &visitor{}
		switch {
		case rng.Float64() < c.BotShare:
			v.bot = true
			// Bots are scripted to fire at the opening, give or take a second.
			v.arrival = time.Duration((rng.Float64()*2 - 1) * float64(time.Second))
		case rng.Float64() < c.EarlyShare:
			v.arrival = -time.Duration(rng.Float64() * float64(c.Lead))
		default:
			u := rng.Float64() * tail
			v.arrival = time.Duration(-math.Log(1-u) * burst * float64(time.Second))
		}
		v.early = v.arrival < 0
		if !v.bot {
			v.sse = rng.Float64() < c.SSEShare
			v.double = rng.Float64() < c.DoubleSubmit
		}
		vs[i] = v
	}
	slices.SortStableFunc(vs, func(a, b *visitor) int { return int(a.arrival - b.arrival) })
	humans := 0
	for i, v := range vs {
		v.id = i
		if v.bot {
			v.addr = botAddr(i % c.BotAddrs)
		} else {
			v.addr = visitorAddr(humans)
			humans++
		}
	}
	return vs
}

// visitorAddr gives real visitor n its own client address: first from
// 198.18.0.0/15 (the benchmarking range), then from 100.64.0.0/10.
func visitorAddr(n int) string {
	const bench = 1<<17 - 2
	if n < bench {
		return addrFrom(netip.MustParseAddr("198.18.0.1"), n)
	}
	return addrFrom(netip.MustParseAddr("100.64.0.1"), n-bench)
}

// botAddr is one of the few addresses bots share (TEST-NET-3).
func botAddr(n int) string { return addrFrom(netip.MustParseAddr("203.0.113.1"), n%250) }

func addrFrom(base netip.Addr, n int) string {
	b := base.As4()
	x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	x += uint32(n)
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}).String()
}
