//go:build race

package sale

// raceEnabled is true under the race detector, which slows the state machine
// about tenfold: the property test then runs fewer sequences.
const raceEnabled = true
