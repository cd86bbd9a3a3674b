package session

// This file holds the table's internals; the caller holds t.mu.

// advance records n as the latest time if it is not earlier than the
// latest seen, then sweeps at most budget records (budget < 0: all that
// are due). A time earlier than the latest seen sweeps nothing: the
// lists are ordered by a clock that never goes backwards.
func (t *Table) advance(n int64, budget int) {
	if n < t.now {
		return
	}
	t.now = n
	t.sweep(budget)
}

// sweep moves live records idle for IdleTimeout to the expired
// tombstones and frees tombstones that are due, oldest first, stopping
// at the first record that is not due. It visits only those records,
// plus one per list.
func (t *Table) sweep(budget int) {
	freed := false
	for budget != 0 && t.expireOldest() {
		budget--
	}
	for _, l := range [2]*list{&t.expired, &t.ended} {
		for budget != 0 && l.head != none {
			i := l.head
			t.visited++
			if t.entries[i].dead > t.now {
				break
			}
			t.release(l, i)
			freed = true
			budget--
		}
	}
	if freed {
		t.maybeRebuild()
	}
}

// expireOldest turns the least recently used live record into an
// expired tombstone if it has been idle for IdleTimeout at the latest
// time seen, and reports whether it did.
func (t *Table) expireOldest() bool {
	i := t.live.head
	if i == none {
		return false
	}
	e := &t.entries[i]
	t.visited++
	if subSat(t.now, e.lastUse) < t.idle {
		return false
	}
	t.unlink(&t.live, i)
	e.state = slotExpired
	t.pushTomb(&t.expired, i, addSat(e.lastUse, t.gone))
	return true
}

// end turns the live record i into an ended tombstone. It may free
// old tombstones but never rebuilds, so callers may keep walking.
func (t *Table) end(i int32) {
	t.unlink(&t.live, i)
	t.entries[i].state = slotEnded
	t.pushTomb(&t.ended, i, addSat(t.now, t.idle))
}

// pushTomb appends tombstone i to l, due at dead. Tombstones beyond
// Max are forgotten early, oldest first, to bound memory under a storm
// of logins and logouts; their ids still read as Gone.
func (t *Table) pushTomb(l *list, i int32, dead int64) {
	if l.tail != none {
		dead = max(dead, t.entries[l.tail].dead) // keep l ordered
	}
	t.entries[i].dead = dead
	t.push(l, i)
	for t.expired.n+t.ended.n > t.max {
		old := &t.expired
		if old.n == 0 {
			old = &t.ended
		}
		t.release(old, old.head)
	}
}

// pushLive appends live record i, keeping the list in last-use order.
func (t *Table) pushLive(i int32) {
	if tl := t.live.tail; tl != none {
		e := &t.entries[i]
		e.lastUse = max(e.lastUse, t.entries[tl].lastUse)
	}
	t.push(&t.live, i)
}

// touch sets the last use of live record i to n (never earlier than it
// was) and moves it to the young end.
func (t *Table) touch(i int32, n int64) {
	e := &t.entries[i]
	e.lastUse = max(e.lastUse, n)
	if t.live.tail == i {
		return
	}
	t.unlink(&t.live, i)
	t.pushLive(i)
}

func (t *Table) push(l *list, i int32) {
	e := &t.entries[i]
	e.prev, e.next = l.tail, none
	if l.tail == none {
		l.head = i
	} else {
		t.entries[l.tail].next = i
	}
	l.tail = i
	l.n++
}

func (t *Table) unlink(l *list, i int32) {
	e := &t.entries[i]
	if e.prev == none {
		l.head = e.next
	} else {
		t.entries[e.prev].next = e.next
	}
	if e.next == none {
		l.tail = e.prev
	} else {
		t.entries[e.next].prev = e.prev
	}
	e.prev, e.next = none, none
	l.n--
}

// alloc returns a free record index, reusing freed records first.
func (t *Table) alloc() int32 {
	if i := t.free; i != none {
		t.free = t.entries[i].next
		return i
	}
	t.entries = append(t.entries, entry{})
	return int32(len(t.entries) - 1)
}

// release unlinks record i from l, forgets it and frees it.
func (t *Table) release(l *list, i int32) {
	t.unlink(l, i)
	e := &t.entries[i]
	delete(t.index, e.key)
	*e = entry{next: t.free, prev: none}
	t.free = i
}

// maybeRebuild compacts the records and rebuilds the map once it holds
// fewer than a quarter of its peak: Go maps never shrink, so a table
// that once held a million sessions would otherwise keep their memory.
func (t *Table) maybeRebuild() {
	if t.mapPeak < rebuildMin || len(t.index) >= t.mapPeak/4 {
		return
	}
	n := len(t.index)
	entries := make([]entry, 0, n+n/4)
	index := make(map[[16]byte]int32, n)
	for _, l := range t.lists() {
		head := l.head
		*l = list{head: none, tail: none}
		for i := head; i != none; i = t.entries[i].next {
			j := int32(len(entries))
			entries = append(entries, t.entries[i])
			index[entries[j].key] = j
			e := &entries[j]
			e.prev, e.next = l.tail, none
			if l.tail == none {
				l.head = j
			} else {
				entries[l.tail].next = j
			}
			l.tail = j
			l.n++
		}
	}
	t.entries, t.index = entries, index
	t.free = none
	t.mapPeak = n
	t.rebuilds++
}
