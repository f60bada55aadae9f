package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/client"
)

const clusterUsage = `Usage:
  floodgate cluster status --addr URL [--admin-token T] [--json]
  floodgate cluster add    --addr URL [--admin-token T] --id ID --raft-addr HOST:PORT [--http-addr URL]
  floodgate cluster remove --addr URL [--admin-token T] --id ID

--addr is the HTTP API of any member; followers pass changes to the leader.
The admin token may also come from FLOODGATE_ADMIN_TOKEN.
`

func runCluster(ctx context.Context, args []string) error {
	return subcommand(ctx, clusterUsage, map[string]command{"status": clusterStatus, "add": clusterAdd, "remove": clusterRemove}, args)
}

func clusterStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the JSON answer of GET /api/v1/cluster")
	c, err := adminClientFrom(fs, args)
	if err != nil {
		return err
	}
	var info fhttp.ClusterInfo
	if err := c.do(ctx, "GET", "/api/v1/cluster", nil, &info); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	info.WriteText(os.Stdout)
	return nil
}

func clusterAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster add", flag.ContinueOnError)
	var join fhttp.JoinRequest
	fs.StringVar(&join.ID, "id", "", "node id of the new member")
	fs.StringVar(&join.RaftAddr, "raft-addr", "", "Raft address other nodes reach the new member at (its --raft-advertise or --raft-addr)")
	fs.StringVar(&join.HTTPAddr, "http-addr", "", "base URL of the new member's API, e.g. http://10.0.0.4:8080 (recorded for forwarding)")
	c, err := adminClientFrom(fs, args)
	if err != nil {
		return err
	}
	if join.ID == "" || join.RaftAddr == "" {
		return errors.New("--id and --raft-addr are required")
	}
	var info fhttp.ClusterInfo
	if err := c.do(ctx, "POST", "/api/v1/cluster/join", join, &info); err != nil {
		return err
	}
	fmt.Printf("added %s (%s)\n\n", join.ID, join.RaftAddr)
	info.WriteText(os.Stdout)
	return nil
}

func clusterRemove(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cluster remove", flag.ContinueOnError)
	id := fs.String("id", "", "node id of the member to remove")
	c, err := adminClientFrom(fs, args)
	if err != nil {
		return err
	}
	if *id == "" {
		return errors.New("--id is required")
	}
	if err := c.do(ctx, "DELETE", "/api/v1/cluster/nodes/"+url.PathEscape(*id), nil, nil); err != nil {
		return err
	}
	fmt.Printf("removed %s; stop its process and, to reuse the machine, empty its data dir before it joins again\n", *id)
	return nil
}

// adminClient calls the admin API of a node and says what to check when the
// node cannot be reached.
type adminClient struct{ *client.Client }

// adminClientFrom adds the flags every cluster subcommand has (--addr,
// --admin-token) to fs, parses args and returns the client they make.
func adminClientFrom(fs *flag.FlagSet, args []string) (*adminClient, error) {
	addr := fs.String("addr", "http://127.0.0.1:8080", "HTTP API of any cluster member")
	fs.String("admin-token", "", "admin token")
	if err := parseFlags(fs, args, nil); err != nil {
		return nil, err
	}
	token, err := adminTokenFrom(fs, false)
	if err != nil {
		return nil, err
	}
	c := &adminClient{client.New(strings.TrimRight(*addr, "/"))}
	c.Authorize = client.BearerToken(token)
	return c, nil
}

func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.Call(ctx, method, path, nil, in, out)
	var answer *client.Error
	if err != nil && !errors.As(err, &answer) {
		return fmt.Errorf("could not reach %s (is the node running and --addr right?): %w", c.BaseURL, err)
	}
	return err
}
