package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/floodgate/floodgate"
	fhttp "github.com/floodgate/floodgate/http"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// clusterFlags are the cluster-only flags of floodgate serve (TLS between
// nodes, snapshot tuning).
type clusterFlags struct {
	tlsCert, tlsKey, tlsCA string
	snapshotThreshold      uint64
	snapshotInterval       time.Duration
	trailingLogs           uint64
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.tlsCert, "raft-tls-cert", "", "PEM certificate this node presents to other nodes (turns on mutual TLS between nodes)")
	fs.StringVar(&c.tlsKey, "raft-tls-key", "", "PEM private key of --raft-tls-cert")
	fs.StringVar(&c.tlsCA, "raft-tls-ca", "", "PEM CA certificate that signed every node's certificate")
	fs.Uint64Var(&c.snapshotThreshold, "snapshot-threshold", 8192, "log entries since the last snapshot that trigger a new one")
	fs.DurationVar(&c.snapshotInterval, "snapshot-interval", 30*time.Second, "how often to check whether a snapshot is due")
	fs.Uint64Var(&c.trailingLogs, "trailing-logs", 10240, "log entries kept after a snapshot, so a briefly lagging follower catches up from the log")
}

// storeConfig fills the cluster settings of the store: the network layer
// (plain TCP or mutual TLS) and snapshot tuning.
func (c *clusterFlags) storeConfig(cfg serveConfig, sc *store.Config) error {
	layer, err := store.NewLayer(store.LayerConfig{
		Bind: cfg.raftAddr, Advertise: cfg.raftAdvertise,
		CertFile: c.tlsCert, KeyFile: c.tlsKey, CAFile: c.tlsCA,
	})
	if err != nil {
		return err
	}
	sc.Layer = layer
	sc.SnapshotThreshold = c.snapshotThreshold
	sc.SnapshotInterval = c.snapshotInterval
	sc.TrailingLogs = c.trailingLogs
	return nil
}

// setupCluster makes this node a cluster member: with --join it asks an
// existing member to add it, and on every start it makes sure the cluster
// knows where this node's HTTP API is (so followers can forward to it when it
// leads). It returns what the API needs to know about the other nodes.
func setupCluster(ctx context.Context, cfg serveConfig, st *store.Store, httpURL string, log *slog.Logger) (fhttp.Cluster, error) {
	m := &membership{
		st:         st,
		self:       cfg.nodeID,
		httpURL:    httpURL,
		adminToken: cfg.adminToken,
		client:     &http.Client{Timeout: 5 * time.Second},
		log:        log.With("component", "cluster"),
	}
	var joinURLs []string
	for _, u := range strings.Split(cfg.join, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			joinURLs = append(joinURLs, u)
		}
	}
	go m.run(ctx, joinURLs)
	return m, nil
}

// membership is the node's view of the cluster: the Raft configuration for
// who is a member, and the replicated node table (sale.State.Nodes) for
// where each member's HTTP API is.
type membership struct {
	st         *store.Store
	self       string
	httpURL    string
	adminToken string
	client     *http.Client
	log        *slog.Logger
}

var (
	_ fhttp.Cluster      = (*membership)(nil)
	_ fhttp.ClusterAdmin = (*membership)(nil)
)

// run joins the cluster when asked to and this node is not a member yet,
// then keeps this node's HTTP address recorded in the replicated state.
func (m *membership) run(ctx context.Context, joinURLs []string) {
	if len(joinURLs) > 0 && !m.isMember() {
		m.join(ctx, joinURLs)
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if err := m.registerSelf(ctx); err != nil {
			m.log.Debug("recording this node's HTTP address failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *membership) isMember() bool {
	servers, err := m.st.Servers()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == m.self })
}

// join asks the members at urls, in turn, to add this node, until one of
// them answers that it did. Any member will do: a follower forwards the
// request to the leader.
func (m *membership) join(ctx context.Context, urls []string) {
	body, _ := json.Marshal(fhttp.JoinRequest{ID: m.self, RaftAddr: m.st.RaftAddr(), HTTPAddr: m.httpURL})
	backoff := 200 * time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		u := urls[attempt%len(urls)]
		err := m.call(ctx, http.MethodPost, u+"/api/v1/cluster/join", body)
		if err == nil {
			m.log.Info("joined the cluster", "via", u, "raft_addr", m.st.RaftAddr())
			return
		}
		if floodgate.ErrorCode(err) == floodgate.EUnauthenticated {
			m.log.Error("the cluster refused the admin token; every node needs the same --admin-token", "via", u)
		} else {
			m.log.Warn("joining the cluster failed; retrying", "via", u, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// registerSelf records this node's HTTP address in the replicated node table
// when it is missing or stale (the address may change between restarts).
// Only a member does: a node that was removed must not add itself back.
func (m *membership) registerSelf(ctx context.Context) error {
	var recorded string
	m.st.Read(func(s *sale.State) { recorded = s.Nodes[m.self] })
	if recorded == m.httpURL || !m.isMember() {
		return nil
	}
	if m.st.IsLeader() {
		return m.setNode(ctx, m.self, m.httpURL)
	}
	leader := m.LeaderHTTP()
	if leader == "" {
		return errors.New("no leader known yet")
	}
	body, _ := json.Marshal(fhttp.RegisterRequest{HTTPAddr: m.httpURL})
	return m.call(ctx, http.MethodPut, leader+"/api/v1/cluster/nodes/"+m.self, body)
}

// call sends an admin request to another node and turns an error answer
// into its *floodgate.Error.
func (m *membership) call(ctx context.Context, method, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// Signed with a key derived from the admin token, which never crosses
	// the network itself.
	fhttp.SignNodeRequest(req, fhttp.NodeKey(m.adminToken), body, time.Now())
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, api.MaxBody))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var eb api.ErrorBody
	if json.Unmarshal(buf, &eb) == nil && eb.Error.Code != "" {
		return &floodgate.Error{Code: eb.Error.Code, Message: eb.Error.Message}
	}
	return fmt.Errorf("%s %s: %s", method, url, resp.Status)
}

func (m *membership) setNode(ctx context.Context, id, httpAddr string) error {
	_, err := m.st.Apply(ctx, &sale.Command{Kind: sale.KindSetNode, Now: time.Now().UnixMilli(), NodeID: id, HTTPAddr: httpAddr})
	return err
}

// Join adds a voter and records its HTTP address (leader only).
//
// The new member's Raft address must answer first: a voter that cannot be
// reached counts against the quorum, and in a small cluster one such voter
// stops every write.
func (m *membership) Join(ctx context.Context, id, raftAddr, httpAddr string) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", raftAddr)
	if err != nil {
		return floodgate.Errorf(floodgate.EInvalid, "Node %s does not answer on its Raft address %s (%v); start it first, then join it.", id, raftAddr, err)
	}
	_ = conn.Close()
	if err := m.st.AddVoter(id, raftAddr); err != nil {
		return unavailable(err)
	}
	if httpAddr == "" {
		return nil
	}
	return m.setNode(ctx, id, httpAddr)
}

// Register records the HTTP address of a member (leader only).
func (m *membership) Register(ctx context.Context, id, httpAddr string) error {
	servers, err := m.st.Servers()
	if err != nil {
		return unavailable(err)
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id }) {
		return floodgate.Errorf(floodgate.ENotFound, "Node %q is not a member of the cluster; add it with floodgate cluster add or start it with --join.", id)
	}
	return m.setNode(ctx, id, httpAddr)
}

// Remove takes a member out of the Raft configuration and the node table
// (leader only). Removing the leader itself hands leadership to another
// member first.
func (m *membership) Remove(ctx context.Context, id string) error {
	servers, err := m.st.Servers()
	if err != nil {
		return unavailable(err)
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id }) {
		return floodgate.Errorf(floodgate.ENotFound, "Node %q is not a member of the cluster.", id)
	}
	if len(servers) == 1 {
		return floodgate.Errorf(floodgate.EConflict, "Node %q is the last member; a cluster cannot remove its only node.", id)
	}
	if err := m.st.RemoveServer(id); err != nil {
		return unavailable(err)
	}
	if id == m.self {
		// This node is no longer the leader; the new leader will not
		// accept its commands, and the table entry is harmless.
		return nil
	}
	return m.setNode(ctx, id, "")
}

func unavailable(err error) error {
	var fe *floodgate.Error
	if errors.As(err, &fe) {
		return err
	}
	return floodgate.Errorf(floodgate.EUnavailable, "The cluster configuration could not be changed (%v); retry in a moment.", err)
}

// LeaderHTTP returns the base URL of the leader's API, or "" when this node
// leads or the leader is not known.
func (m *membership) LeaderHTTP() string {
	id, _ := m.st.Leader()
	if id == "" || id == m.self {
		return ""
	}
	var u string
	m.st.Read(func(s *sale.State) { u = s.Nodes[id] })
	return u
}

// ClusterInfo lists the members with their state. The state of another node
// is what this node can see: "leader" for the leader it follows, else
// "follower" when its API answers, "unreachable" when it does not.
func (m *membership) ClusterInfo(ctx context.Context) (fhttp.ClusterInfo, error) {
	servers, err := m.st.Servers()
	if err != nil {
		return fhttp.ClusterInfo{}, unavailable(err)
	}
	leader, _ := m.st.Leader()
	var nodes map[string]string
	m.st.Read(func(s *sale.State) { nodes = maps.Clone(s.Nodes) })
	info := fhttp.ClusterInfo{Leader: leader, Nodes: make([]fhttp.ClusterNode, len(servers))}
	ctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for i, srv := range servers {
		n := &info.Nodes[i]
		*n = fhttp.ClusterNode{ID: string(srv.ID), RaftAddr: string(srv.Address), HTTPAddr: nodes[string(srv.ID)]}
		switch {
		case n.ID == m.self:
			n.State = strings.ToLower(m.st.State())
		case srv.Suffrage != raft.Voter:
			n.State = "nonvoter"
		case n.ID == leader:
			n.State = "leader"
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.State = m.probe(ctx, n.HTTPAddr)
			}()
		}
	}
	wg.Wait()
	slices.SortFunc(info.Nodes, func(a, b fhttp.ClusterNode) int { return strings.Compare(a.ID, b.ID) })
	return info, nil
}

// probe tells whether the API of another node answers.
func (m *membership) probe(ctx context.Context, base string) string {
	if base == "" {
		return "unknown"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return "unknown"
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return "unreachable"
	}
	resp.Body.Close()
	return "follower"
}
