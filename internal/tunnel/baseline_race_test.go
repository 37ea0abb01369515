//go:build race

package tunnel

// raceEnabled: the race detector is on, and remotedialer v0.6.1 races
// with itself (its ping handler sets the WebSocket's write deadline while
// another goroutine writes), so the baseline benchmarks skip.
const raceEnabled = true
