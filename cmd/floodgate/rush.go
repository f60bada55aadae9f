package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

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
	var (
		cfg         = d
		demo        = fs.Bool("demo", false, "start a throwaway server on loopback (this binary's serve) and rush it")
		reportPath  = fs.String("report", "", "write a self-contained HTML report to this file")
		jsonOut     = fs.Bool("json", false, "print the summary as one JSON object on the last line of stdout")
		quiet       = fs.Bool("quiet", false, "no live progress on stderr")
		check       = fs.Bool("check", false, "exit with status 1 when anything was oversold, lost, duplicated, or answered 5xx")
		benchOrders = fs.Int("bench-orders", 0, "instead of a rush: measure the committed hold+order rate of this many buyers")
		queueOnly   = fs.Int("queue-only", 0, "instead of a rush: queue this many visitors and measure the server's memory")
		concurrency = fs.Int("concurrency", 64, "requests in flight for --bench-orders and --queue-only")
		joinRate    = fs.Float64("demo-join-rate", 0, "with --demo: queue joins per second allowed per client address (default: the server's ceiling)")
		joinBurst   = fs.Int("demo-join-burst", 0, "with --demo: burst of queue joins allowed per client address (default: the server's ceiling)")
		serverBin   = fs.String("server-bin", "", "with --demo: the floodgate binary to start (default: this one)")
		cpuProfile  = fs.String("cpuprofile", "", "write a CPU profile of the generator to this file")
	)
	fs.StringVar(&cfg.Target, "target", "", "base URL of the server to rush, e.g. http://127.0.0.1:8080")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin token of the target")
	fs.StringVar(&cfg.Drop, "drop", "", "rush this existing drop instead of creating one")
	fs.IntVar(&cfg.Visitors, "visitors", d.Visitors, "visitors in total, bots included")
	fs.Int64Var(&cfg.Stock, "stock", d.Stock, "units on sale")
	fs.Int64Var(&cfg.PerCustomerLimit, "per-customer", d.PerCustomerLimit, "units one customer may buy")
	fs.Int64Var(&cfg.AdmitPerSecond, "admit-rate", d.AdmitPerSecond, "visitors admitted per second")
	fs.Int64Var(&cfg.HoldSeconds, "hold-seconds", d.HoldSeconds, "hold lifetime in seconds")
	fs.BoolVar(&cfg.Vouchers, "vouchers", d.Vouchers, "give every unit a voucher code and check none is given twice")
	fs.Float64Var(&cfg.EarlyShare, "early", d.EarlyShare, "share of visitors arriving before the opening")
	fs.DurationVar(&cfg.Lead, "lead", d.Lead, "time from now to the opening; early visitors arrive within it")
	fs.DurationVar(&cfg.Window, "window", d.Window, "the other visitors arrive within this after the opening")
	fs.DurationVar(&cfg.Burst, "burst", d.Burst, "time constant of the opening burst")
	fs.Float64Var(&cfg.BotShare, "bots", d.BotShare, "share of visitors that are bots")
	fs.IntVar(&cfg.BotAddrs, "bot-addrs", d.BotAddrs, "client addresses shared by all bots")
	fs.StringVar(&cfg.ChallengeDifficulty, "challenge", "", `challenge_difficulty of the drop the rush creates: "auto" or 0-28 (default: the server's, auto)`)
	fs.IntVar(&cfg.BotSolvers, "bot-solvers", d.BotSolvers, "goroutines all bots share to solve join challenges (the bot farm's CPU)")
	fs.Float64Var(&cfg.SSEShare, "sse", d.SSEShare, "share of visitors that wait over SSE instead of polling")
	fs.Float64Var(&cfg.DoubleSubmit, "double-submit", d.DoubleSubmit, "share of buyers that send their order twice with the same key")
	fs.Int64Var(&cfg.PaymentSeconds, "payment-seconds", 0, "give the drop a payment step of this many seconds (0: none); unpaid orders expire and their units are sold again")
	fs.Float64Var(&cfg.UnpaidShare, "unpaid", 0.2, "with --payment-seconds: share of buyers who never pay")
	fs.DurationVar(&cfg.PayDelay, "pay-delay", 2e9, "with --payment-seconds: the others pay within this")
	fs.DurationVar(&cfg.Deadline, "deadline", d.Deadline, "visitors still waiting this long after the opening give up")
	fs.DurationVar(&cfg.MinPoll, "min-poll", d.MinPoll, "shortest pause between two queue polls")
	fs.DurationVar(&cfg.MaxPoll, "max-poll", d.MaxPoll, "longest pause between two queue polls")
	fs.IntVar(&cfg.InFlight, "in-flight", d.InFlight, "requests in flight at most (and connections)")
	fs.Uint64Var(&cfg.Seed, "seed", d.Seed, "seed of the arrival schedule")
	fs.IntVar(&cfg.ServerPid, "server-pid", 0, "pid of the target server on this machine, to report its CPU and memory")
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("create the CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	if *demo {
		if cfg.Target != "" {
			return fmt.Errorf("give either --demo or --target, not both")
		}
		fmt.Fprintln(os.Stderr, "starting a demo server on loopback…")
		srv, err := rush.StartServer(ctx, rush.ServerOptions{Binary: *serverBin, JoinRate: *joinRate, JoinBurst: *joinBurst})
		if err != nil {
			return err
		}
		defer srv.Close()
		cfg.Target, cfg.AdminToken, cfg.ServerPid = srv.URL, srv.AdminToken, srv.Pid()
		fmt.Fprintf(os.Stderr, "demo server at %s (pid %d)\n", srv.URL, srv.Pid())
	}
	bc := rush.BenchConfig{Target: cfg.Target, AdminToken: cfg.AdminToken, Concurrency: *concurrency, ServerPid: cfg.ServerPid}
	switch {
	case *benchOrders > 0:
		bc.Buyers = *benchOrders
		res, err := rush.BenchOrders(ctx, bc)
		if err != nil {
			return err
		}
		return rush.WriteJSON(os.Stdout, res)
	case *queueOnly > 0:
		bc.Buyers = *queueOnly
		res, err := rush.QueueOnly(ctx, bc)
		if err != nil {
			return err
		}
		return rush.WriteJSON(os.Stdout, res)
	}

	if cfg.Progress != nil {
		fmt.Fprintf(os.Stderr, "rushing %s: %d visitors for %d units, opening in %v\n", cfg.Target, cfg.Visitors, cfg.Stock, cfg.Lead)
	}
	res, err := rush.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *reportPath != "" {
		if err := rush.WriteReportFile(*reportPath, res); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		fmt.Fprintf(os.Stderr, "report written to %s\n", *reportPath)
	}
	s := res.Summary
	if *jsonOut {
		if err := rush.WriteJSON(os.Stdout, s); err != nil {
			return err
		}
	} else {
		s.WriteText(os.Stdout)
	}
	if *check {
		return s.Broken()
	}
	return nil
}
