package testkit

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Node is the template of every node; its Args come before the cluster
	// flags.
	Node Options
	// Faults puts a FaultProxy in front of every node's Raft port, so a test
	// can cut nodes off from each other.
	Faults bool
	// DataDirs, when set, are the data directories of the nodes in order
	// ("" for a new t.TempDir()), e.g. one on a small tmpfs.
	DataDirs []string
}

// Cluster is n real floodgate serve processes forming one Raft group on
// loopback. Node i has the id "node<i+1>" and binds Raft to 127.0.0.<11+i>,
// so that its connections can be told apart by their source address.
type Cluster struct {
	Nodes   []*Node
	IDs     []string
	RaftIPs []string
	// Proxies[i] is the FaultProxy in front of node i (nil without Faults).
	Proxies []*FaultProxy
}

// StartCluster starts an n-node cluster: node1 bootstraps, the others join
// it, and StartCluster returns once every node answers /healthz.
func StartCluster(tb testing.TB, n int, opts ClusterOptions) *Cluster {
	tb.Helper()
	c := &Cluster{}
	for i := range n {
		id := fmt.Sprintf("node%d", i+1)
		ip := fmt.Sprintf("127.0.0.%d", 11+i)
		raftAddr := freeAddrOn(tb, ip)
		advertise := raftAddr
		var proxy *FaultProxy
		if opts.Faults {
			proxy = StartFaultProxy(tb, raftAddr)
			advertise = proxy.Addr
		}
		o := opts.Node
		if i < len(opts.DataDirs) && opts.DataDirs[i] != "" {
			o.DataDir = opts.DataDirs[i]
		}
		o.Args = append(append([]string(nil), opts.Node.Args...),
			"--node-id", id, "--raft-addr", raftAddr, "--raft-advertise", advertise)
		if i == 0 {
			o.Args = append(o.Args, "--bootstrap")
		} else {
			o.Args = append(o.Args, "--join", c.Nodes[0].URL)
		}
		c.Nodes = append(c.Nodes, StartNode(tb, o))
		c.IDs = append(c.IDs, id)
		c.RaftIPs = append(c.RaftIPs, ip)
		c.Proxies = append(c.Proxies, proxy)
	}
	c.WaitMembers(tb, n, 30*time.Second)
	return c
}

// ClusterNode is one member in GET /api/v1/cluster.
type ClusterNode struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	State    string `json:"state"`
}

// ClusterInfo is the answer of GET /api/v1/cluster.
type ClusterInfo struct {
	Leader string        `json:"leader"`
	Nodes  []ClusterNode `json:"nodes"`
}

// ClusterInfo asks one node for its view of the cluster (admin).
func (c *Client) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	var info ClusterInfo
	_, err := c.Call(ctx, http.MethodGet, "/api/v1/cluster", c.admin(), nil, &info)
	return info, err
}

// WaitMembers waits until node1's view lists n members, every one with its
// HTTP address recorded.
func (c *Cluster) WaitMembers(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var last ClusterInfo
		for _, node := range c.Running() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			info, err := node.ClusterInfo(ctx)
			cancel()
			if err != nil {
				continue
			}
			last = info
			ok := len(info.Nodes) == n && info.Leader != ""
			for _, m := range info.Nodes {
				ok = ok && m.HTTPAddr != ""
			}
			if ok {
				return
			}
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testkit: the cluster did not reach %d members with addresses within %v; last view: %+v", n, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Others returns the indexes of every node but i.
func (c *Cluster) Others(i int) []int {
	var out []int
	for j := range c.Nodes {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

// Running returns the nodes whose process is alive.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// Index returns the index of the node with id (-1 if none).
func (c *Cluster) Index(id string) int {
	for i, x := range c.IDs {
		if x == id {
			return i
		}
	}
	return -1
}

// WaitLeader waits until every node in among (all running nodes when nil)
// names the same leader, which must itself be among them, and returns its
// index.
func (c *Cluster) WaitLeader(tb testing.TB, among []int, timeout time.Duration) int {
	tb.Helper()
	if among == nil {
		for i, n := range c.Nodes {
			if n.Running() {
				among = append(among, i)
			}
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		leader := ""
		agree := true
		for _, i := range among {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			info, err := c.Nodes[i].ClusterInfo(ctx)
			cancel()
			if err != nil || info.Leader == "" || (leader != "" && info.Leader != leader) {
				agree = false
				break
			}
			leader = info.Leader
		}
		if agree {
			idx := c.Index(leader)
			for _, i := range among {
				if i == idx {
					return idx
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testkit: nodes %v did not agree on a leader among them within %v", among, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Isolate cuts node i off from every other node in both directions (its
// HTTP API stays reachable).
func (c *Cluster) Isolate(tb testing.TB, i int) {
	tb.Helper()
	if c.Proxies[i] == nil {
		tb.Fatal("testkit: Isolate needs a cluster started with Faults")
	}
	c.Proxies[i].SetDown(true)
	for j, p := range c.Proxies {
		if j != i {
			p.Block(c.RaftIPs[i])
		}
	}
}

// Heal joins every node up again.
func (c *Cluster) Heal() {
	for _, p := range c.Proxies {
		if p != nil {
			p.Heal()
		}
	}
}
