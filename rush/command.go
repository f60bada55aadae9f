package rush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// Command is one `floodgate rush`: a rush against Config.Target (or a
// throwaway server it starts), or one of the two measurements, and what it
// writes. cmd/floodgate binds the flags into it and calls Run.
type Command struct {
	Config
	// Demo starts a throwaway server on loopback (StartServer with
	// DemoServer) and targets it instead of Config.Target.
	Demo       bool
	DemoServer ServerOptions
	// BenchOrders > 0 measures the committed hold+order rate of that many
	// buyers instead of a rush (BenchOrders); QueueOnly > 0 queues that many
	// visitors and measures the server's memory (QueueOnly). Both keep
	// Concurrency requests in flight and print one line of JSON.
	BenchOrders, QueueOnly, Concurrency int
	// BenchRate > 0 paces BenchOrders at that many reservations a second.
	BenchRate float64
	// Report is a file to write the HTML report of the rush to; empty for none.
	Report string
	// JSON prints the summary as one line of JSON instead of the table.
	JSON bool
	// Check fails with Summary.Broken when the rush broke a promise.
	Check bool
	// Quiet leaves out the live progress lines.
	Quiet bool
	// CPUProfile is a file to write a CPU profile of the generator to.
	CPUProfile string
	// Farm makes the command the bots' farm of another rush instead
	// (ServeFarm with BotSolvers threads): it reads challenges from Stdin
	// and writes their answers to Stdout. A rush started by the command
	// runs its farm so, in a process of its own (FarmBinary: this program).
	Farm  bool
	Stdin io.Reader
	// Stdout gets the summary or the measurement; Stderr the progress and
	// notices.
	Stdout, Stderr io.Writer
}

// Run runs the command until the rush or the measurement is over.
func (c Command) Run(ctx context.Context) error {
	if c.Farm {
		return ServeFarm(c.Stdin, c.Stdout, c.BotSolvers)
	}
	if c.Demo && c.Target != "" {
		return errors.New("give either --demo or --target, not both")
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("create the CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if c.Demo {
		fmt.Fprintln(c.Stderr, "starting a demo server on loopback…")
		srv, err := StartServer(ctx, c.DemoServer)
		if err != nil {
			return err
		}
		defer srv.Close()
		c.Target, c.AdminToken, c.ServerPid = srv.URL, srv.AdminToken, srv.Pid()
		fmt.Fprintf(c.Stderr, "demo server at %s (pid %d)\n", srv.URL, srv.Pid())
	}
	if c.BenchOrders > 0 || c.QueueOnly > 0 {
		return c.measure(ctx)
	}
	c.fillDefaults()
	if err := c.validate(); err != nil {
		return err
	}
	if c.FarmBinary == "" {
		// Only this program is sure to know --bot-farm.
		if exe, err := os.Executable(); err == nil {
			c.FarmBinary = exe
		}
	}
	if !c.Quiet {
		c.Progress = c.Stderr
		fmt.Fprintf(c.Stderr, "rushing %s: %d visitors for %d units, opening in %v\n", c.Target, c.Visitors, c.Stock, c.Lead)
	}
	res, err := Run(ctx, c.Config)
	if err != nil {
		return err
	}
	if c.Report != "" {
		if err := WriteReportFile(c.Report, res); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		fmt.Fprintf(c.Stderr, "report written to %s\n", c.Report)
	}
	s := res.Summary
	if c.JSON {
		if err := WriteJSON(c.Stdout, s); err != nil {
			return err
		}
	} else {
		s.WriteText(c.Stdout)
	}
	if c.Check {
		return s.Broken()
	}
	return nil
}

// measure runs BenchOrders or QueueOnly and prints its result as JSON.
func (c Command) measure(ctx context.Context) error {
	bc := BenchConfig{Target: c.Target, AdminToken: c.AdminToken, Concurrency: c.Concurrency, ServerPid: c.ServerPid, Rate: c.BenchRate}
	var res any
	var err error
	if c.BenchOrders > 0 {
		bc.Buyers = c.BenchOrders
		res, err = BenchOrders(ctx, bc)
	} else {
		bc.Buyers = c.QueueOnly
		res, err = QueueOnly(ctx, bc)
	}
	if err != nil {
		return err
	}
	return WriteJSON(c.Stdout, res)
}

// WriteReportFile writes the HTML report of res (WriteReport) to the file
// at path.
func WriteReportFile(path string, res *Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteReport(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Broken returns nil when the rush kept every promise (Clean), and else an
// error that counts what went wrong: floodgate rush --check fails with it.
func (s Summary) Broken() error {
	if s.Clean() {
		return nil
	}
	return fmt.Errorf("the rush broke a promise (oversold %d, lost %d, duplicates %d, 5xx %d, forged/premature/reused tickets taken %d/%d/%d); see the report",
		s.Oversold, s.LostOrders, s.DuplicateOrders, s.Errors5xx, s.ForgedAccepted, s.PrematureAccepted, s.ReuseAccepted)
}
