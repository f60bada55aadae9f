package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/floodgate/floodgate/rush"
)

// runRush replays a sell-out against --target (or a server it starts itself
// with --demo) and reports what happened.
func runRush(ctx context.Context, args []string) error {
	d := rush.DefaultConfig()
	fs := flag.NewFlagSet("rush", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: floodgate rush (--target URL --admin-token TOKEN | --demo) [flags]

Simulates visitors arriving for a drop (early arrivals, an opening burst,
bots), each joining the queue, waiting, holding, signing in and ordering as a
real client would; then checks the server's orders list and prints a summary.

Other modes:
  --bench-orders N   committed hold+order rate of N admitted buyers
  --queue-only N     server memory with N visitors waiting (needs --demo or --server-pid)

Flags:
`)
		fs.PrintDefaults()
	}
	c := rush.Command{Config: d, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	fs.BoolVar(&c.Demo, "demo", false, "start a throwaway server on loopback (this binary's serve) and rush it")
	fs.StringVar(&c.Report, "report", "", "write a self-contained HTML report to this file")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as one JSON object on the last line of stdout")
	fs.BoolVar(&c.Quiet, "quiet", false, "no live progress on stderr")
	fs.BoolVar(&c.Check, "check", false, "exit with status 1 when anything was oversold, lost, duplicated, or answered 5xx")
	fs.IntVar(&c.BenchOrders, "bench-orders", 0, "instead of a rush: measure the committed hold+order rate of this many buyers")
	fs.IntVar(&c.QueueOnly, "queue-only", 0, "instead of a rush: queue this many visitors and measure the server's memory")
	fs.Float64Var(&c.BenchRate, "bench-rate", 0, "with --bench-orders: start this many reservations a second (open loop, up to --concurrency at once); 0: as fast as they are answered")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "requests in flight for --bench-orders and --queue-only")
	fs.Float64Var(&c.DemoServer.JoinRate, "demo-join-rate", 0, "with --demo: queue joins per second allowed per client address (default: the server's ceiling)")
	fs.IntVar(&c.DemoServer.JoinBurst, "demo-join-burst", 0, "with --demo: burst of queue joins allowed per client address (default: the server's ceiling)")
	fs.StringVar(&c.DemoServer.Binary, "server-bin", "", "with --demo: the floodgate binary to start (default: this one)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the generator to this file")
	fs.StringVar(&c.Target, "target", "", "base URL of the server to rush, e.g. http://127.0.0.1:8080")
	fs.StringVar(&c.AdminToken, "admin-token", "", "admin token of the target")
	fs.StringVar(&c.Drop, "drop", "", "rush this existing drop instead of creating one")
	fs.IntVar(&c.Visitors, "visitors", d.Visitors, "visitors in total, bots included")
	fs.Int64Var(&c.Stock, "stock", d.Stock, "units on sale")
	fs.Int64Var(&c.PerCustomerLimit, "per-customer", d.PerCustomerLimit, "units one customer may buy")
	fs.Int64Var(&c.AdmitPerSecond, "admit-rate", d.AdmitPerSecond, "visitors admitted per second")
	fs.Int64Var(&c.HoldSeconds, "hold-seconds", d.HoldSeconds, "hold lifetime in seconds")
	fs.BoolVar(&c.Vouchers, "vouchers", d.Vouchers, "give every unit a voucher code and check none is given twice")
	fs.Float64Var(&c.EarlyShare, "early", d.EarlyShare, "share of visitors arriving before the opening")
	fs.DurationVar(&c.Lead, "lead", d.Lead, "time from now to the opening; early visitors arrive within it")
	fs.DurationVar(&c.Window, "window", d.Window, "the other visitors arrive within this after the opening")
	fs.DurationVar(&c.Burst, "burst", d.Burst, "time constant of the opening burst")
	fs.Float64Var(&c.BotShare, "bots", d.BotShare, "share of visitors that are bots")
	fs.IntVar(&c.BotAddrs, "bot-addrs", d.BotAddrs, "client addresses shared by all bots")
	fs.StringVar(&c.ChallengeDifficulty, "challenge", "", `challenge_difficulty of the drop the rush creates: "auto" or 0-28 (default: the server's, auto)`)
	fs.IntVar(&c.BotSolvers, "bot-solvers", d.BotSolvers, "threads all bots share to solve join challenges (the bot farm's CPU, at the lowest priority)")
	fs.BoolVar(&c.Farm, "bot-farm", false, "instead of a rush: be the bots' farm of one, which solves the join challenges it reads on stdin (a rush starts its own so)")
	fs.Float64Var(&c.SSEShare, "sse", d.SSEShare, "share of visitors that wait over SSE instead of polling")
	fs.Float64Var(&c.DoubleSubmit, "double-submit", d.DoubleSubmit, "share of buyers that send their order twice with the same key")
	fs.Int64Var(&c.PaymentSeconds, "payment-seconds", 0, "give the drop a payment step of this many seconds (0: none); unpaid orders expire and their units are sold again")
	fs.Float64Var(&c.UnpaidShare, "unpaid", 0.2, "with --payment-seconds: share of buyers who never pay")
	fs.DurationVar(&c.PayDelay, "pay-delay", 2e9, "with --payment-seconds: the others pay within this")
	fs.DurationVar(&c.Deadline, "deadline", d.Deadline, "visitors still waiting this long after the opening give up")
	fs.DurationVar(&c.MinPoll, "min-poll", d.MinPoll, "shortest pause between two queue polls")
	fs.DurationVar(&c.MaxPoll, "max-poll", d.MaxPoll, "longest pause between two queue polls")
	fs.IntVar(&c.InFlight, "in-flight", d.InFlight, "requests in flight at most (and connections)")
	fs.Uint64Var(&c.Seed, "seed", d.Seed, "seed of the arrival schedule")
	fs.IntVar(&c.ServerPid, "server-pid", 0, "pid of the target server on this machine, to report its CPU and memory")
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	return c.Run(ctx)
}
