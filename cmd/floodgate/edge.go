package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/floodgate/floodgate/edge"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/clientaddr"
)

// runEdge runs floodgate edge: a stateless front process in front of the
// cluster. It keeps no state on disk; run as many as the rush needs behind
// any load balancer.
func runEdge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	cfg := edge.Config{Logger: slog.Default()}
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "address to serve buyers on")
	cluster := fs.String("cluster", "", "comma-separated base URLs of cluster nodes, e.g. http://10.0.0.1:8080,http://10.0.0.2:8080")
	fs.DurationVar(&cfg.JWKSRefresh, "jwks-refresh", 5*time.Minute, "how often to fetch the ticket keys again")
	trusted := fs.String("trusted-proxy", "", "comma-separated CIDRs of proxies in front of the edge whose X-Forwarded-For and X-Forwarded-Proto are trusted (loopback always is)")
	fs.IntVar(&cfg.StreamsPerIP, "streams-per-ip", fhttp.DefaultStreamsPerIP, "open queue event streams per client address (IPv6: per /64)")
	connsPerIP := fs.Int("conns-per-ip", fhttp.DefaultConnsPerIP, "open connections per client address (IPv6: per /64; trusted proxies are not capped)")
	bodyTimeout := fs.Duration("body-timeout", clientaddr.DefaultBodyTimeout, "how long a client has to send a request body")
	fs.String("admin-token", "", "the cluster's admin token; only /metrics uses it (without it the edge serves no metrics)")
	err := parseFlags(fs, args, nil)
	if err != nil {
		return err
	}
	if cfg.MetricsToken, err = adminTokenFrom(fs, true); err != nil {
		return err
	}
	if cfg.Trusted, err = fhttp.ParseTrustedProxies(*trusted); err != nil {
		return err
	}
	cfg.Upstreams = strings.Split(*cluster, ",")
	e, err := edge.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", *httpAddr, err)
	}
	ln = clientaddr.Listener(ln, *connsPerIP, clientaddr.NewTrusted(cfg.Trusted))
	go e.Run(ctx)
	srv := &http.Server{Handler: clientaddr.BodyDeadline(e, *bodyTimeout), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: clientaddr.IdleTimeout}
	go func() {
		<-ctx.Done()
		e.Close() // ends the event streams, so the shutdown does not wait for them
	}()
	slog.Info("floodgate edge serving", "http", "http://"+ln.Addr().String(), "cluster", *cluster)
	return serveUntil(ctx, srv, ln)
}
