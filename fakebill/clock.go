package fakebill

import (
	"errors"
	"sync"
	"time"
)

// Clock is the time source a [Server] reads. Any type with a Now method
// will do: a *clock.Mock from github.com/benbjohnson/clock, a [ManualClock],
// or time.Now wrapped in [ClockFunc] inside a testing/synctest bubble.
type Clock interface {
	Now() time.Time
}

// MovableClock is a [Clock] the control API can move. *clock.Mock and
// [ManualClock] satisfy it; a Server whose clock does not answers the
// control API's clock routes with 409 Conflict.
type MovableClock interface {
	Clock
	Add(d time.Duration)
	Set(t time.Time)
}

// ClockFunc adapts a function such as time.Now to [Clock].
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// ManualClock is a [MovableClock] that stands still until moved.
// The zero value reads the zero time. It is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock frozen at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d.
func (c *ManualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// OffsetClock is the wall clock plus an offset that Add and Set move: the
// "real" clock mode of the standalone server. It is safe for concurrent use.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the wall-clock time plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Add adds d to the offset.
func (c *OffsetClock) Add(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set moves the offset so that Now reads t.
func (c *OffsetClock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

// Offset reports the current offset from the wall clock.
func (c *OffsetClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Errors the clock methods of [Server] return.
var (
	// ErrClockNotMovable means the server's clock has no Add and Set.
	ErrClockNotMovable = errors.New("fakebill: clock cannot be moved")
	// ErrClockBackwards means a Set would move time backwards.
	ErrClockBackwards = errors.New("fakebill: clock cannot go backwards")
	// ErrClockRange means the clock would read outside the range the
	// server supports: 1970-01-01 to 2200-01-01 UTC, both included.
	ErrClockRange = errors.New("fakebill: clock outside 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z")
)

// The range of times a Server's clock may read, both ends included.
// Session times are int64 nanoseconds, which end in 2262, and journal
// times are RFC 3339, which ends with year 9999; inside this range both
// are exact.
var (
	minClock = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxClock = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func inClockRange(t time.Time) bool {
	return !t.Before(minClock) && !t.After(maxClock)
}

// clampClock returns t held to the supported range.
func clampClock(t time.Time) time.Time {
	switch {
	case t.Before(minClock):
		return minClock
	case t.After(maxClock):
		return maxClock
	}
	return t
}

// reset puts the offset back to zero.
func (c *OffsetClock) reset() {
	c.mu.Lock()
	c.offset = 0
	c.mu.Unlock()
}
