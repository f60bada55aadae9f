package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/floodgate/floodgate/edge"
)

// runEdge runs floodgate edge: a stateless front process in front of the
// cluster. It keeps no state on disk; run as many as the rush needs behind
// any load balancer.
func runEdge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "address to serve buyers on")
	cluster := fs.String("cluster", "", "comma-separated base URLs of cluster nodes, e.g. http://10.0.0.1:8080,http://10.0.0.2:8080")
	jwksRefresh := fs.Duration("jwks-refresh", 5*time.Minute, "how often to fetch the ticket keys again")
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	var upstreams []string
	for _, u := range strings.Split(*cluster, ",") {
		if u = strings.TrimSpace(u); u != "" {
			upstreams = append(upstreams, u)
		}
	}
	if len(upstreams) == 0 {
		return errors.New("--cluster is required: the base URLs of one or more cluster nodes")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e, err := edge.New(edge.Config{Upstreams: upstreams, JWKSRefresh: *jwksRefresh, Registry: reg, Logger: slog.Default()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", *httpAddr, err)
	}
	go e.Run(ctx)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-ctx.Done()
		e.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	slog.Info("floodgate edge serving", "http", "http://"+ln.Addr().String(), "cluster", upstreams)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
