//go:build race

package hmacpool

// The race detector makes sync.Pool drop items at random.
const raceEnabled = true
