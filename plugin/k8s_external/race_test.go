//go:build race

package external

// raceEnabled: the race detector adds allocations of its own.
const raceEnabled = true
