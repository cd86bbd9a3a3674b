package session

import "math"

// Reset forgets every session, tombstones included, and the latest time
// the table has seen, so that time may start again from an earlier
// point. It keeps the MAC key and the label counter: ids minted before
// stay recognizable to [Table.Minted] (Lookup reports them Gone) and
// labels never repeat.
func (t *Table) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = nil
	t.index = make(map[[16]byte]int32)
	for _, l := range t.lists() {
		*l = list{head: none, tail: none}
	}
	t.free = none
	t.now = math.MinInt64
	t.mapPeak = 0
}
