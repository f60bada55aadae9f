// Package systemtest runs Floodgate clusters and edges as real processes on
// loopback (through internal/testkit) and breaks them: the leader killed
// with SIGKILL in the middle of a rush, the leader cut off from its peers,
// a follower restarted from an empty disk, an edge killed while a visitor
// waits. Histories of holds and orders are checked for linearizability with
// porcupine.
//
// The default run fits in a few minutes; FLOODGATE_SOAK=1 runs larger
// rushes and 5-node clusters. A rush that does not finish in time logs each
// node's counters and where every unfinished buyer stopped;
// FLOODGATE_TEST_DEBUG=1 also writes the retries, the buyers' steps, the
// faults and the nodes' views to stderr as they happen.
package systemtest
