package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/floodgate/floodgate/status"
)

const statusUsage = `Usage:
  floodgate status serve  --data-dir DIR --http-addr ADDR --admin-token T [--from CORE_URL] [--dev]
      run the status page from its own store; with --from it mirrors the core
      and keeps answering (and taking incident posts) when the core is down
  floodgate status export --from URL --out DIR
      write the status page and its JSON as static files any web server can serve
`

func runStatus(ctx context.Context, args []string) error {
	return subcommand(ctx, statusUsage, map[string]command{"serve": runStatusServe, "export": runStatusExport}, args)
}

func runStatusServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status serve", flag.ContinueOnError)
	var cfg status.Config
	statusFlags(fs, &cfg)
	fs.StringVar(&cfg.DataDir, "data-dir", "./status-data", "directory of the status store (its own, not the core's)")
	addr := fs.String("http-addr", "127.0.0.1:8090", "address to serve the status page on")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin token for posting incidents (required)")
	fs.BoolVar(&cfg.Dev, "dev", false, "allow subscriber targets on loopback and private addresses (tests and demos)")
	fs.StringVar(&cfg.MirrorFrom, "from", "", "base URLs of core nodes to mirror, comma-separated, e.g. http://core-1:8080,http://core-2:8080 (optional; any node serves the same page)")
	fs.DurationVar(&cfg.MirrorInterval, "poll-interval", 5*time.Second, "how often to read the core's status when --from is set")
	if err := parseFlags(fs, args, map[string]string{"from": "FLOODGATE_STATUS_FROM"}); err != nil {
		return err
	}
	var err error
	if cfg.AdminToken, err = adminTokenFrom(fs, false); err != nil {
		return err
	}
	cfg.Apart = true
	svc, err := status.Open(cfg)
	if err != nil {
		return err
	}
	defer svc.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is the address in use? pick another with --http-addr)", *addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", svc.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusFound)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	slog.Info("status page listening", "addr", ln.Addr().String(), "from", cfg.MirrorFrom, "data_dir", cfg.DataDir)
	return serveUntil(ctx, srv, ln)
}

func runStatusExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status export", flag.ContinueOnError)
	from := fs.String("from", "", "base URL of a Floodgate node or status server, e.g. http://127.0.0.1:8080; several comma-separated: the first that answers")
	out := fs.String("out", "", "directory to write index.html, history.atom and api/v2/*.json into")
	if err := parseFlags(fs, args, map[string]string{"from": "FLOODGATE_STATUS_FROM"}); err != nil {
		return err
	}
	if *from == "" || *out == "" {
		return errors.New("both --from URL and --out DIR are needed")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := status.Export(ctx, nil, *from, *out); err != nil {
		return err
	}
	slog.Info("status page exported", "from", *from, "out", *out)
	return nil
}
