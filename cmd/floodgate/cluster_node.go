package main

import (
	"context"
	"flag"
	"log/slog"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/store"
)

// setupCluster makes this node a cluster member: with --join it asks an
// existing member to add it. It returns what the API needs to know about the
// other nodes (nil on a single node).
func setupCluster(ctx context.Context, cfg serveConfig, st *store.Store, httpURL string, log *slog.Logger) (fhttp.Cluster, error) {
	return nil, nil
}

// clusterFlags are the cluster-only flags of floodgate serve (TLS between
// nodes, snapshot tuning).
type clusterFlags struct{}

func (c *clusterFlags) register(fs *flag.FlagSet) {}
