package cluster

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/floodgate/floodgate/internal/client"
	"github.com/floodgate/floodgate/internal/ticker"
	"github.com/floodgate/floodgate/sale"
	"github.com/floodgate/floodgate/store"
)

// Config configures a Membership.
type Config struct {
	Store      *store.Store
	NodeID     string
	HTTPURL    string   // base URL of this node's API, recorded for forwarding
	AdminToken string   // the token every member shares, for calls to other members
	Join       []string // base URLs of members to ask to add this node; none to bootstrap
	Logger     *slog.Logger
}

// New returns the membership of the node; Run makes it a member.
func New(cfg Config) *Membership {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var join []string
	for _, u := range cfg.Join {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			join = append(join, u)
		}
	}
	return &Membership{
		st:         cfg.Store,
		self:       cfg.NodeID,
		httpURL:    cfg.HTTPURL,
		adminToken: cfg.AdminToken,
		joinURLs:   join,
		client:     &http.Client{Timeout: 5 * time.Second},
		log:        log.With("component", "cluster"),
	}
}

// Membership is the node's view of the cluster: the Raft configuration for
// who is a member, and the replicated node table (sale.State.Nodes) for
// where each member's HTTP API is.
type Membership struct {
	st         *store.Store
	self       string
	httpURL    string
	adminToken string
	joinURLs   []string
	client     *http.Client
	log        *slog.Logger
}

var (
	_ fhttp.Cluster      = (*Membership)(nil)
	_ fhttp.ClusterAdmin = (*Membership)(nil)
)

// Run joins the cluster when asked to and this node is not a member yet,
// then keeps this node's HTTP address recorded in the replicated state until
// ctx is done.
func (m *Membership) Run(ctx context.Context) {
	if len(m.joinURLs) > 0 && !m.isMember() {
		m.join(ctx, m.joinURLs)
	}
	register := func(ctx context.Context) {
		if err := m.registerSelf(ctx); err != nil {
			m.log.Debug("recording this node's HTTP address failed; retrying", "err", err)
		}
	}
	register(ctx)
	ticker.Every(ctx, 500*time.Millisecond, register)
}

func (m *Membership) isMember() bool {
	servers, err := m.st.Servers()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == m.self })
}

// join asks the members at urls, in turn, to add this node, until one of
// them answers that it did. Any member will do: a follower forwards the
// request to the leader.
func (m *Membership) join(ctx context.Context, urls []string) {
	body := fhttp.JoinRequest{ID: m.self, RaftAddr: m.st.RaftAddr(), HTTPAddr: m.httpURL}
	backoff := 200 * time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		u := urls[attempt%len(urls)]
		err := m.call(ctx, http.MethodPost, u, "/api/v1/cluster/join", body)
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
func (m *Membership) registerSelf(ctx context.Context) error {
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
	return m.call(ctx, http.MethodPut, leader, "/api/v1/cluster/nodes/"+m.self, fhttp.RegisterRequest{HTTPAddr: m.httpURL})
}

// call sends an admin request to the node at base. An error answer is a
// *client.Error that unwraps to its *floodgate.Error.
func (m *Membership) call(ctx context.Context, method, base, path string, in any) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c := &client.Client{BaseURL: base, HTTP: m.client, Authorize: m.sign}
	_, err := c.Call(ctx, method, path, nil, in, nil)
	return err
}

// sign signs a call to another node with a key derived from the admin token,
// which never crosses the network itself.
func (m *Membership) sign(req *http.Request, body []byte) {
	fhttp.SignNodeRequest(req, fhttp.NodeKey(m.adminToken), body, time.Now())
}

func (m *Membership) setNode(ctx context.Context, id, httpAddr string) error {
	_, err := m.st.Apply(ctx, &sale.Command{Kind: sale.KindSetNode, Now: time.Now().UnixMilli(), NodeID: id, HTTPAddr: httpAddr})
	return err
}

// Join adds a voter and records its HTTP address (leader only).
//
// The new member's Raft address must answer first: a voter that cannot be
// reached counts against the quorum, and in a small cluster one such voter
// stops every write.
func (m *Membership) Join(ctx context.Context, id, raftAddr, httpAddr string) error {
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
func (m *Membership) Register(ctx context.Context, id, httpAddr string) error {
	if _, err := m.membersWith(id, "; add it with floodgate cluster add or start it with --join"); err != nil {
		return err
	}
	return m.setNode(ctx, id, httpAddr)
}

// membersWith returns the members of the Raft configuration, or not_found (its
// message ending with hint) when id is not one of them.
func (m *Membership) membersWith(id, hint string) ([]raft.Server, error) {
	servers, err := m.st.Servers()
	if err != nil {
		return nil, unavailable(err)
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id }) {
		return nil, floodgate.Errorf(floodgate.ENotFound, "Node %q is not a member of the cluster%s.", id, hint)
	}
	return servers, nil
}

// Remove takes a member out of the Raft configuration and the node table
// (leader only). Removing the leader itself hands leadership to another
// member first.
func (m *Membership) Remove(ctx context.Context, id string) error {
	servers, err := m.membersWith(id, "")
	if err != nil {
		return err
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
func (m *Membership) LeaderHTTP() string {
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
// "follower" when its API answers, "unreachable" when it does not, and
// "disk_full" (itself or another) while its data disk is full.
func (m *Membership) ClusterInfo(ctx context.Context) (fhttp.ClusterInfo, error) {
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
		case n.ID == m.self && m.st.DiskFault() != nil:
			n.State = "disk_full"
		case n.ID == m.self:
			n.State = strings.ToLower(m.st.State())
		case srv.Suffrage != raft.Voter:
			n.State = "nonvoter"
		case n.ID == leader:
			n.State = "leader"
		default:
			wg.Go(func() {
				n.State = m.probe(ctx, n.HTTPAddr)
			})
		}
	}
	wg.Wait()
	slices.SortFunc(info.Nodes, func(a, b fhttp.ClusterNode) int { return strings.Compare(a.ID, b.ID) })
	return info, nil
}

// probe tells whether the API of another node answers.
func (m *Membership) probe(ctx context.Context, base string) string {
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
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		// /healthz says "disk_full: ..." while the node's data disk is full.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if bytes.Contains(body, []byte("disk_full")) {
			return "disk_full"
		}
	}
	return "follower"
}
