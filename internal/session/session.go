// Package session is the fake server's session table: it mints
// unguessable session ids, judges idle expiry lazily from the time it is
// given, and remembers ended and expired sessions for a while so that a
// client coming back with one can be told what happened to it.
//
// The table holds no pointers per session and runs no timers: sessions
// live in a slice of fixed-size records, chained in last-use order, and
// the expired ones are swept from the old end as the table is used, so a
// sweep costs O(expired) and garbage collection cost does not grow with
// the number of sessions.
package session

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// ErrFull is returned by [Table.Create] when the table holds
// [Config.Max] live sessions.
var ErrFull = errors.New("session: too many live sessions")

// Config configures a [Table].
type Config struct {
	// IdleTimeout is how long a session may go unused; it must be > 0.
	// A session idle for exactly IdleTimeout is expired.
	IdleTimeout time.Duration

	// Max caps the number of live sessions; it must be > 0 and at most
	// [MaxSessions].
	Max int

	// Key is the MAC key that makes ids recognizable; nil or empty
	// means 32 random bytes. A key given must be at least 16 bytes.
	Key []byte
}

// MaxSessions is the largest [Config.Max] a table accepts; its records
// are indexed by int32 and it keeps up to Max tombstones besides.
const MaxSessions = 1 << 29

// State is what a table knows about a session id.
type State int

// The zero State is Unknown, so that a zero value never reads as Live.
const (
	// Unknown: not an id this table minted, or malformed, or tampered.
	Unknown State = iota
	// Live: valid; the session may be used.
	Live
	// Expired: idle for IdleTimeout or longer.
	Expired
	// Ended: ended by logout or by the server.
	Ended
	// Gone: minted here, but expired or ended more than IdleTimeout ago
	// and since forgotten.
	Gone
)

var stateNames = [...]string{
	Unknown: "unknown",
	Live:    "live",
	Expired: "expired",
	Ended:   "ended",
	Gone:    "gone",
}

// String returns the state's name in lower case, as the journal writes it.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// Info describes a session. Times are in UTC.
type Info struct {
	Label   uint64 // a counter that never restarts: session#Label
	Account int
	Created time.Time
	LastUse time.Time
}

// Record states.
const (
	slotFree uint8 = iota
	slotLive
	slotExpired // tombstone of a session swept as expired
	slotEnded   // tombstone of an ended session
)

// entry is one session record. It holds no pointers, so the garbage
// collector never scans the slice that holds it.
type entry struct {
	key     [16]byte
	label   uint64
	tag     uint64
	account int64
	created int64 // unix nanoseconds
	lastUse int64 // unix nanoseconds
	dead    int64 // tombstones: when the session becomes Gone
	prev    int32
	next    int32 // also chains the free list
	state   uint8
}

// list is an intrusive doubly linked list of entries, by index.
type list struct {
	head, tail int32
	n          int
}

const none int32 = -1

// Sweep and rebuild tuning.
const (
	lookupSweep = 32   // entries a Lookup may sweep, to bound its latency
	createSweep = 32   // entries a Create may sweep, besides making room
	rebuildMin  = 1024 // below this peak the map is never rebuilt
)

// Table is a session table. It is safe for concurrent use.
//
// Time is an input: every method that judges expiry takes now. The
// table keeps the latest now it was given; a now earlier than that
// (a clock that went backwards) is used to judge the call but never
// sweeps, and a touch never moves a session's last use backwards.
//
// An ended or expired session is kept as a tombstone for one more
// IdleTimeout, so that [Table.Lookup] can say Ended or Expired, and is
// then forgotten (Gone). At most Max tombstones are kept; past that the
// oldest are forgotten early.
type Table struct {
	idle int64
	gone int64 // 2*idle: a stored live record this idle is Gone
	max  int
	key  []byte
	macs sync.Pool

	mu      sync.Mutex
	entries []entry
	index   map[[16]byte]int32
	live    list // by lastUse, oldest first
	expired list // tombstones by dead
	ended   list // tombstones by dead
	free    int32
	now     int64 // the latest now seen
	label   uint64
	peak    int
	mapPeak int // largest len(index) since the last rebuild

	// issued is t.label, readable without the lock: an id whose label
	// is above it was never minted here, whatever its MAC says.
	issued atomic.Uint64

	visited  uint64 // entries examined by sweeps, for tests
	rebuilds int    // for tests
}

// New returns an empty table.
func New(cfg Config) (*Table, error) {
	switch {
	case cfg.IdleTimeout <= 0:
		return nil, fmt.Errorf("session: idle timeout %v is not positive", cfg.IdleTimeout)
	case cfg.Max <= 0 || cfg.Max > MaxSessions:
		return nil, fmt.Errorf("session: max %d is outside 1..%d", cfg.Max, MaxSessions)
	case len(cfg.Key) > 0 && len(cfg.Key) < 16:
		return nil, fmt.Errorf("session: key of %d bytes is shorter than 16", len(cfg.Key))
	}
	key := cfg.Key
	if len(key) == 0 {
		key = randomKey()
	} else {
		key = append([]byte(nil), key...)
	}
	t := &Table{
		idle:  int64(cfg.IdleTimeout),
		gone:  addSat(int64(cfg.IdleTimeout), int64(cfg.IdleTimeout)),
		max:   cfg.Max,
		key:   key,
		index: make(map[[16]byte]int32),
		free:  none,
		now:   math.MinInt64,
	}
	for _, l := range t.lists() {
		*l = list{head: none, tail: none}
	}
	t.macs.New = t.newMAC
	return t, nil
}

func (t *Table) lists() [3]*list { return [3]*list{&t.live, &t.expired, &t.ended} }

// Create starts a session for account at now and returns its id and
// label. The id is [IDLen] characters of base64url. Create returns
// [ErrFull] when the table already holds [Config.Max] live sessions.
func (t *Table) Create(account int, now time.Time) (id string, label uint64, err error) {
	n := nanos(now)
	var raw [rawLen]byte
	randomize(&raw) // outside the lock: it is a system call

	t.mu.Lock()
	defer t.mu.Unlock()
	// A bounded sweep, so that a login after many sessions expired
	// together does not pay for them all; while some are due, each
	// Create sweeps more than it adds, so the cost is O(expired) overall.
	// The live list may still hold expired sessions after it: at the
	// cap, expire them until there is room, so that only live sessions
	// count. A now earlier than the latest seen sweeps nothing.
	t.advance(n, createSweep)
	for t.live.n >= t.max && n == t.now && t.expireOldest() {
	}
	if t.live.n >= t.max {
		return "", 0, ErrFull
	}
	for {
		if _, dup := t.index[[16]byte(raw[:16])]; !dup {
			break
		}
		randomize(&raw) // 128 random bits do not collide; but be sure
	}
	t.label++
	label = t.label
	t.issued.Store(label)
	tag := t.seal(&raw, label)

	i := t.alloc()
	e := &t.entries[i]
	*e = entry{key: [16]byte(raw[:16]), label: label, tag: tag, account: int64(account),
		created: n, lastUse: n, state: slotLive}
	t.index[e.key] = i
	t.mapPeak = max(t.mapPeak, len(t.index))
	t.pushLive(i)
	t.peak = max(t.peak, t.live.n)
	return encodeID(&raw), label, nil
}

// Lookup reports the state of the session with the given id at now.
// For Live, Expired and Ended it also returns the session's Info; for
// Gone only its Label. With touch set, a Live session's last use
// becomes now.
func (t *Table) Lookup(id string, now time.Time, touch bool) (Info, State) {
	var raw [rawLen]byte
	if !decodeID(id, &raw) {
		return Info{}, Unknown
	}
	key, label, tag := fields(&raw)
	n := nanos(now)

	t.mu.Lock()
	t.advance(n, lookupSweep)
	i, ok := t.index[key]
	if ok {
		e := &t.entries[i]
		if e.tag != tag || e.label != label {
			t.mu.Unlock()
			return Info{}, Unknown // a minted id with altered bytes
		}
		st := t.judge(e, n)
		info := e.info()
		if st == Live && touch {
			t.touch(i, n)
			info.LastUse = e.info().LastUse
		}
		t.mu.Unlock()
		if st == Gone {
			info = Info{Label: label}
		}
		return info, st
	}
	t.mu.Unlock()

	if !t.mayHaveIssued(label) || t.tag(&raw) != tag {
		return Info{}, Unknown
	}
	return Info{Label: label}, Gone
}

// Touch marks a Live session as used at now and reports whether it was
// Live.
func (t *Table) Touch(id string, now time.Time) bool {
	_, st := t.Lookup(id, now, true)
	return st == Live
}

// End ends the Live session with the given id, as a logout does, and
// reports whether there was one. Liveness is judged at the latest time
// the table has seen.
func (t *Table) End(id string) bool {
	var raw [rawLen]byte
	if !decodeID(id, &raw) {
		return false
	}
	key, label, tag := fields(&raw)

	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index[key]
	if !ok {
		return false
	}
	e := &t.entries[i]
	if e.tag != tag || e.label != label || t.judge(e, t.now) != Live {
		return false
	}
	t.end(i)
	t.maybeRebuild()
	return true
}

// EndLabel ends the Live session with the given label and reports
// whether there was one. It costs O(live sessions).
func (t *Table) EndLabel(label uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(t.now, -1)
	for i := t.live.head; i != none; i = t.entries[i].next {
		if t.entries[i].label == label {
			t.end(i)
			t.maybeRebuild()
			return true
		}
	}
	return false
}

// EndAccount ends every Live session of account and returns how many it
// ended. It costs O(live sessions).
//
// TODO(fakebill): keep a per-account chain if single-session servers
// with very many live sessions turn out to matter; each login there
// walks every live session.
func (t *Table) EndAccount(account int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(t.now, -1)
	ended := 0
	for i := t.live.head; i != none; {
		next := t.entries[i].next
		if t.entries[i].account == int64(account) {
			t.end(i)
			ended++
		}
		i = next
	}
	t.maybeRebuild()
	return ended
}

// EndAll ends every Live session, as a server restart would, and
// returns how many it ended.
func (t *Table) EndAll() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(t.now, -1)
	ended := t.live.n
	for t.live.head != none {
		t.end(t.live.head)
	}
	t.maybeRebuild()
	return ended
}

// List returns up to limit sessions that are Live at now, least
// recently used first (so the first is the next to expire). A limit of
// 0 or less means no limit.
func (t *Table) List(now time.Time, limit int) []Info {
	n := nanos(now)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(n, -1)
	var out []Info
	for i := t.live.head; i != none && (limit <= 0 || len(out) < limit); i = t.entries[i].next {
		if e := &t.entries[i]; t.judge(e, n) == Live {
			out = append(out, e.info())
		}
	}
	return out
}

// Len returns the number of live sessions as of the latest time the
// table has seen (the greatest now passed to any method): created, not
// ended, and used less than IdleTimeout before that time. Tombstones of
// ended and expired sessions are not counted.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.advance(t.now, -1)
	return t.live.n
}

// Peak returns the largest number of live sessions the table has held.
func (t *Table) Peak() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peak
}

func (e *entry) info() Info {
	return Info{
		Label:   e.label,
		Account: int(e.account),
		Created: time.Unix(0, e.created).UTC(),
		LastUse: time.Unix(0, e.lastUse).UTC(),
	}
}

// judge returns the state of a stored session at n, whether or not the
// sweep has caught up with it.
func (t *Table) judge(e *entry, n int64) State {
	switch e.state {
	case slotLive:
		switch idle := subSat(n, e.lastUse); {
		case idle >= t.gone:
			return Gone
		case idle >= t.idle:
			return Expired
		}
		return Live
	case slotExpired:
		if n >= e.dead {
			return Gone
		}
		return Expired
	case slotEnded:
		if n >= e.dead {
			return Gone
		}
		return Ended
	}
	return Unknown
}

// nanos converts now to unix nanoseconds, saturating outside the years
// 1678 to 2262 rather than wrapping.
func nanos(now time.Time) int64 {
	s := now.Unix()
	switch {
	case s <= math.MinInt64/int64(time.Second)+1:
		return math.MinInt64
	case s >= math.MaxInt64/int64(time.Second)-1:
		return math.MaxInt64
	}
	return now.UnixNano()
}

// subSat returns a-b, saturating instead of overflowing.
func subSat(a, b int64) int64 {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

// addSat returns a+b for b >= 0, saturating instead of overflowing.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
