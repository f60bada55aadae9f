package http

import (
	"context"
	"net"
	"net/http"
	"net/url"

	"github.com/floodgate/floodgate"
	"github.com/floodgate/floodgate/internal/api"
	"github.com/floodgate/floodgate/sale"
)

// ClusterAdmin changes the membership of the cluster. The Cluster of a node
// that runs in a cluster implements it; the calls are made on the leader
// (the routes are leader-only, so followers forward them).
type ClusterAdmin interface {
	// Join adds a voting member and records where its HTTP API is. Joining
	// again with the same id and address changes nothing.
	Join(ctx context.Context, id, raftAddr, httpAddr string) error
	// Remove takes a member out of the cluster.
	Remove(ctx context.Context, id string) error
	// Register records the HTTP API address of an existing member.
	Register(ctx context.Context, id, httpAddr string) error
}

// JoinRequest is the body of POST /api/v1/cluster/join.
type JoinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
}

// RegisterRequest is the body of PUT /api/v1/cluster/nodes/{id}.
type RegisterRequest struct {
	HTTPAddr string `json:"http_addr"`
}

func (s *Server) clusterAdmin() (ClusterAdmin, error) {
	ca, ok := s.cfg.Cluster.(ClusterAdmin)
	if !ok {
		return nil, floodgate.Errorf(floodgate.EConflict, "This node was started without cluster support; restart it with --raft-addr and --bootstrap or --join.")
	}
	return ca, nil
}

func validNodeID(id string) error {
	if !sale.ValidID(id) {
		return floodgate.Errorf(floodgate.EInvalid, "A node id must be 1 to %d lowercase letters, digits, '-' or '_'.", sale.MaxIDLength)
	}
	return nil
}

func validHTTPAddr(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return floodgate.Errorf(floodgate.EInvalid, "\"http_addr\" must be the base URL of the node's API, such as http://10.0.0.2:8080.")
	}
	return nil
}

// validate checks a join request before the cluster is asked.
func (req *JoinRequest) validate() error {
	if err := validNodeID(req.ID); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(req.RaftAddr); err != nil {
		return floodgate.Errorf(floodgate.EInvalid, "\"raft_addr\" must be host:port, the address other nodes reach the new node's Raft transport at.")
	}
	if req.HTTPAddr == "" {
		return nil
	}
	return validHTTPAddr(req.HTTPAddr)
}

// changeMembers runs one change of the cluster's members: it decodes the
// body into in (none when in is nil), checks it with valid, makes the
// change, and answers the first error. It reports whether all went well.
func (s *Server) changeMembers(w http.ResponseWriter, r *http.Request, in any, valid func() error, change func(ClusterAdmin) error) bool {
	ca, err := s.clusterAdmin()
	if err == nil && in != nil {
		err = api.Decode(r, in)
	}
	if err == nil {
		err = valid()
	}
	if err == nil {
		err = change(ca)
	}
	if err != nil {
		api.WriteError(w, err)
	}
	return err == nil
}

func (s *Server) clusterJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !s.changeMembers(w, r, &req, req.validate, func(ca ClusterAdmin) error {
		return ca.Join(r.Context(), req.ID, req.RaftAddr, req.HTTPAddr)
	}) {
		return
	}
	s.log.Info("node joined", "id", req.ID, "raft_addr", req.RaftAddr, "http_addr", req.HTTPAddr)
	s.clusterInfo(w, r)
}

func (s *Server) clusterRegister(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req RegisterRequest
	valid := func() error {
		if err := validNodeID(id); err != nil {
			return err
		}
		return validHTTPAddr(req.HTTPAddr)
	}
	if s.changeMembers(w, r, &req, valid, func(ca ClusterAdmin) error { return ca.Register(r.Context(), id, req.HTTPAddr) }) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) clusterRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	valid := func() error { return validNodeID(id) }
	if s.changeMembers(w, r, nil, valid, func(ca ClusterAdmin) error { return ca.Remove(r.Context(), id) }) {
		s.log.Info("node removed", "id", id)
		w.WriteHeader(http.StatusNoContent)
	}
}
