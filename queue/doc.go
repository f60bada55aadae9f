// Package queue is the waiting room: signed self-contained tickets, queue
// positions handed out from blocks reserved through Raft, the leader's
// admission ticker, and position/ETA answers computed from a ticket and the
// replicated admission counter.
//
// A visitor costs no consensus write: the leader reserves a block of
// positions with one log entry and hands them out from memory. The ticket (a
// compact JWS signed with Ed25519) carries the drop, the visitor id, whether
// the visitor arrived early, and its sequence number; the server keeps nothing
// per waiting visitor. Early arrivals are placed in a random order at the
// start (sale.Permute with a seed chosen by the leader), then arrivals are
// served first come first served.
package queue
