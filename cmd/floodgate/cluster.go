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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(os.Stderr, clusterUsage)
		if len(args) == 0 {
			return errors.New("a subcommand is required: status, add or remove")
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("cluster "+sub, flag.ContinueOnError)
	addr := fs.String("addr", "http://127.0.0.1:8080", "HTTP API of any cluster member")
	fs.String("admin-token", "", "admin token")
	var (
		asJSON                 *bool
		id, raftAddr, httpAddr *string
	)
	switch sub {
	case "status":
		asJSON = fs.Bool("json", false, "print the JSON answer of GET /api/v1/cluster")
	case "add":
		id = fs.String("id", "", "node id of the new member")
		raftAddr = fs.String("raft-addr", "", "Raft address other nodes reach the new member at (its --raft-advertise or --raft-addr)")
		httpAddr = fs.String("http-addr", "", "base URL of the new member's API, e.g. http://10.0.0.4:8080 (recorded for forwarding)")
	case "remove":
		id = fs.String("id", "", "node id of the member to remove")
	default:
		fmt.Fprint(os.Stderr, clusterUsage)
		return fmt.Errorf("unknown cluster subcommand %q: use status, add or remove", sub)
	}
	if err := parseFlags(fs, args, nil); err != nil {
		return err
	}
	token, err := adminTokenFrom(fs, false)
	if err != nil {
		return err
	}
	c := &adminClient{client.New(strings.TrimRight(*addr, "/"))}
	c.Authorize = client.BearerToken(token)
	switch sub {
	case "status":
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
	case "add":
		if *id == "" || *raftAddr == "" {
			return errors.New("--id and --raft-addr are required")
		}
		var info fhttp.ClusterInfo
		if err := c.do(ctx, "POST", "/api/v1/cluster/join", fhttp.JoinRequest{ID: *id, RaftAddr: *raftAddr, HTTPAddr: *httpAddr}, &info); err != nil {
			return err
		}
		fmt.Printf("added %s (%s)\n\n", *id, *raftAddr)
		info.WriteText(os.Stdout)
		return nil
	default: // remove
		if *id == "" {
			return errors.New("--id is required")
		}
		if err := c.do(ctx, "DELETE", "/api/v1/cluster/nodes/"+url.PathEscape(*id), nil, nil); err != nil {
			return err
		}
		fmt.Printf("removed %s; stop its process and, to reuse the machine, empty its data dir before it joins again\n", *id)
		return nil
	}
}

// adminClient calls the admin API of a node and says what to check when the
// node cannot be reached.
type adminClient struct{ *client.Client }

func (c *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.Call(ctx, method, path, nil, in, out)
	var answer *client.Error
	if err != nil && !errors.As(err, &answer) {
		return fmt.Errorf("could not reach %s (is the node running and --addr right?): %w", c.BaseURL, err)
	}
	return err
}
