//go:build !race

package hmacpool

const raceEnabled = false
