// Package store replicates the sale state machine with Raft.
//
// A Store wraps hashicorp/raft with a raft-wal log (every append is fsynced),
// file snapshots and a TCP transport (mutual TLS with Config.TLS; plain TCP
// off loopback only with Config.InsecurePlaintext). One node is the default;
// 3 or 5 nodes use the same code path. Apply sends one command and answers
// only after the command is committed and applied; many concurrent Apply
// calls are grouped into one log entry (group commit), so one append and one
// fsync carry a whole batch of commands.
package store
