//go:build race

package main

// raceEnabled says the race detector is on, which makes a soak at a
// meaningful scale too slow for a test run.
const raceEnabled = true
