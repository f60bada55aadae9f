// Command floodgate runs Floodgate: a node of the sale core (serve), a
// stateless edge (edge), the load generator (rush), the status page (status),
// cluster administration (cluster) and version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

const usage = `Floodgate sells a limited product to a rush of buyers.

Usage:
  floodgate serve   [flags]   run a node of the sale core (add --demo for a demo drop)
  floodgate edge    [flags]   run a stateless edge in front of the core
  floodgate rush    [flags]   replay a sell-out against a server and write a report
  floodgate status  <cmd>     status page: serve, export
  floodgate cluster <cmd>     cluster: status, add, remove
  floodgate verify  [flags]   check a drop's fairness: seed, signed log, positions, draw, stock, a receipt
  floodgate version           print the version

Run "floodgate <command> -h" for the flags of a command.
`

// command is one subcommand: it parses its own flags from args.
type command func(ctx context.Context, args []string) error

var commands = map[string]command{
	"serve":   runServe,
	"edge":    runEdge,
	"rush":    runRush,
	"status":  runStatus,
	"cluster": runCluster,
	"version": runVersion,
	"verify":  runVerify,
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := subcommand(ctx, usage, commands, os.Args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintf(os.Stderr, "floodgate %v\n", err)
	if errors.As(err, new(usageError)) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError is a command line that names no command, or an unknown one.
type usageError struct{ error }

// subcommand runs the command of cmds that args[0] names with the rest of
// args; its error says which command failed. With no name, -h or an unknown
// name it prints usage. main, floodgate status and floodgate cluster use it.
func subcommand(ctx context.Context, usage string, cmds map[string]command, args []string) error {
	if len(args) == 0 || cmds[args[0]] == nil {
		fmt.Fprint(os.Stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return usageError{fmt.Errorf("needs one of the commands %s", strings.Join(slices.Sorted(maps.Keys(cmds)), ", "))}
	}
	if err := cmds[args[0]](ctx, args[1:]); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}

// logLevel reads LOG_LEVEL (debug, info, warn, error); info by default.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(os.Getenv("LOG_LEVEL")))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// parseFlags parses args into fs. Every flag takes its default from the
// environment first: --foo-bar from FLOODGATE_FOO_BAR, or from the variable
// rename gives for it; a flag on the command line wins. This is the one
// place where configuration meets the environment, so secrets need not
// appear on a command line.
func parseFlags(fs *flag.FlagSet, args []string, rename map[string]string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := rename[f.Name]
		if name == "" {
			name = "FLOODGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		}
		f.Usage += " (env " + name + ")"
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("environment variable %s: %v", name, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see floodgate %s -h", fs.Arg(0), fs.Name())
	}
	return nil
}

// serveUntil serves srv on ln until ctx ends, then shuts it down gracefully.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	return srv.Shutdown(shutdown)
}
