// Package cluster is a node's view of its Raft cluster beyond the log itself:
// who the members are (joining, removing, registering a member's HTTP API in
// the replicated node table) and where the leader's API is, so followers can
// forward writes to it.
//
// A node makes one Membership at start and runs it:
//
//	m := cluster.New(cluster.Config{Store: st, NodeID: id, HTTPURL: url, AdminToken: tok, Join: urls})
//	go m.Run(ctx)
//
// The Membership is what package http calls for GET /api/v1/cluster, the
// membership routes and forwarding (http.Cluster, http.ClusterAdmin).
package cluster
