//go:build race

package identity

// The race detector makes sync.Pool drop items at random.
const raceEnabled = true
