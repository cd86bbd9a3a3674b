package session

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const idle = 35 * time.Minute

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTable(t testing.TB, max int) *Table {
	t.Helper()
	tb, err := New(Config{IdleTimeout: idle, Max: max, Key: testKey})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tb
}

func mustCreate(t testing.TB, tb *Table, account int, now time.Time) (string, uint64) {
	t.Helper()
	id, label, err := tb.Create(account, now)
	if err != nil {
		t.Fatalf("Create(%d, %v): %v", account, now, err)
	}
	return id, label
}

// checkInvariants walks every list and the free list and fails if the
// links, counts, orders, states or index disagree.
func checkInvariants(t testing.TB, tb *Table) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	seen := 0
	lists := []struct {
		name  string
		l     *list
		state uint8
		order func(e *entry) int64
	}{
		{"live", &tb.live, slotLive, func(e *entry) int64 { return e.lastUse }},
		{"expired", &tb.expired, slotExpired, func(e *entry) int64 { return e.dead }},
		{"ended", &tb.ended, slotEnded, func(e *entry) int64 { return e.dead }},
	}
	for _, c := range lists {
		n, prev := 0, none
		for i := c.l.head; i != none; i = tb.entries[i].next {
			e := &tb.entries[i]
			if e.prev != prev {
				t.Fatalf("%s: record %d has prev %d, want %d", c.name, i, e.prev, prev)
			}
			if e.state != c.state {
				t.Fatalf("%s: record %d has state %d, want %d", c.name, i, e.state, c.state)
			}
			if prev != none && c.order(e) < c.order(&tb.entries[prev]) {
				t.Fatalf("%s: record %d out of order", c.name, i)
			}
			if j, ok := tb.index[e.key]; !ok || j != i {
				t.Fatalf("%s: index has record %d at %d (%v), want %d", c.name, i, j, ok, i)
			}
			prev = i
			n++
		}
		if prev != c.l.tail || n != c.l.n {
			t.Fatalf("%s: walked %d records ending at %d; list says %d ending at %d", c.name, n, prev, c.l.n, c.l.tail)
		}
		seen += n
	}
	if len(tb.index) != seen {
		t.Fatalf("index holds %d records, lists %d", len(tb.index), seen)
	}
	free := 0
	for i := tb.free; i != none; i = tb.entries[i].next {
		if tb.entries[i].state != slotFree {
			t.Fatalf("free record %d has state %d", i, tb.entries[i].state)
		}
		free++
	}
	if free+seen != len(tb.entries) {
		t.Fatalf("%d free + %d used records, slice holds %d", free, seen, len(tb.entries))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero idle", Config{Max: 1}},
		{"negative idle", Config{IdleTimeout: -time.Second, Max: 1}},
		{"zero max", Config{IdleTimeout: idle}},
		{"negative max", Config{IdleTimeout: idle, Max: -1}},
		{"huge max", Config{IdleTimeout: idle, Max: MaxSessions + 1}},
		{"short key", Config{IdleTimeout: idle, Max: 1, Key: []byte("short")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := New(tt.cfg)
			if err == nil || tb != nil {
				t.Fatalf("New(%+v) = %v, %v; want nil and an error", tt.cfg, tb, err)
			}
			if !strings.HasPrefix(err.Error(), "session: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s    State
		want string
	}{
		{Live, "live"}, {Expired, "expired"}, {Ended, "ended"}, {Gone, "gone"},
		{Unknown, "unknown"}, {State(0), "unknown"}, {State(99), "State(99)"}, {State(-1), "State(-1)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", int(tt.s), got, tt.want)
		}
	}
}

func TestIDShape(t *testing.T) {
	tb := newTable(t, 1000)
	firsts := map[byte]bool{}
	ids := map[string]bool{}
	for i := range 200 {
		id, label := mustCreate(t, tb, 1, t0)
		if len(id) != IDLen {
			t.Fatalf("len(%q) = %d, want %d", id, len(id), IDLen)
		}
		for j := 0; j < len(id); j++ {
			if !IsIDChar(id[j]) {
				t.Fatalf("id %q has %q, outside base64url", id, id[j])
			}
		}
		if want := uint64(i + 1); label != want {
			t.Fatalf("label = %d, want %d", label, want)
		}
		if ids[id] {
			t.Fatalf("id %q minted twice", id)
		}
		ids[id] = true
		firsts[id[0]] = true
	}
	// 200 random first characters from 64 all alike would mean a prefix.
	if len(firsts) < 10 {
		t.Errorf("ids start with only %d distinct characters; want no fixed prefix", len(firsts))
	}
}

func TestIdleBoundary(t *testing.T) {
	tests := []struct {
		name    string
		touchAt time.Duration // 0: never touched after creation
		at      time.Duration
		want    State
	}{
		{"fresh", 0, 0, Live},
		{"just before expiry", 0, idle - time.Millisecond, Live},
		{"one nanosecond before", 0, idle - 1, Live},
		{"exactly idle", 0, idle, Expired},
		{"tombstone end", 0, 2*idle - 1, Expired},
		{"forgotten", 0, 2 * idle, Gone},
		{"touch resets: old deadline", 20 * time.Minute, idle, Live},
		{"touch resets: just before", 20 * time.Minute, 20*time.Minute + idle - time.Millisecond, Live},
		{"touch resets: exactly idle", 20 * time.Minute, 20*time.Minute + idle, Expired},
	}
	for _, tt := range tests {
		for _, swept := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/swept=%v", tt.name, swept), func(t *testing.T) {
				tb := newTable(t, 10)
				id, label := mustCreate(t, tb, 7, t0)
				if tt.touchAt > 0 {
					if !tb.Touch(id, t0.Add(tt.touchAt)) {
						t.Fatalf("Touch at %v = false, want true", tt.touchAt)
					}
				}
				if swept {
					tb.Len() // nothing is due yet
					mustCreate(t, tb, 8, t0.Add(tt.at))
				}
				info, got := tb.Lookup(id, t0.Add(tt.at), false)
				if got != tt.want {
					t.Fatalf("Lookup at +%v = %v, want %v", tt.at, got, tt.want)
				}
				want := Info{Label: label}
				if got != Gone {
					want = Info{Label: label, Account: 7, Created: t0, LastUse: t0.Add(tt.touchAt)}
				}
				if diff := cmp.Diff(want, info); diff != "" {
					t.Errorf("Lookup info (-want +got):\n%s", diff)
				}
				checkInvariants(t, tb)
			})
		}
	}
}

func TestLookupTouch(t *testing.T) {
	tb := newTable(t, 10)
	id, _ := mustCreate(t, tb, 1, t0)

	if _, st := tb.Lookup(id, t0.Add(30*time.Minute), false); st != Live {
		t.Fatalf("Lookup without touch = %v, want live", st)
	}
	if _, st := tb.Lookup(id, t0.Add(idle), false); st != Expired {
		t.Fatalf("a lookup without touch extended the session: state %v, want expired", st)
	}

	id, _ = mustCreate(t, tb, 1, t0.Add(time.Hour))
	info, st := tb.Lookup(id, t0.Add(time.Hour+30*time.Minute), true)
	if st != Live || !info.LastUse.Equal(t0.Add(time.Hour+30*time.Minute)) {
		t.Fatalf("Lookup with touch = %v, last use %v; want live, %v", st, info.LastUse, t0.Add(time.Hour+30*time.Minute))
	}
	if _, st := tb.Lookup(id, t0.Add(time.Hour+60*time.Minute), false); st != Live {
		t.Fatalf("after touch at +30m, state at +60m = %v, want live", st)
	}
	if tb.Touch(id, t0.Add(time.Hour+95*time.Minute)) {
		t.Fatalf("Touch of an expired session = true, want false")
	}
	if _, st := tb.Lookup(id, t0.Add(time.Hour+95*time.Minute), false); st != Expired {
		t.Fatalf("Touch revived an expired session: state %v", st)
	}
	checkInvariants(t, tb)
}

func TestEnd(t *testing.T) {
	type op func(tb *Table, ids []string, labels []uint64) int
	tests := []struct {
		name      string
		op        op
		wantN     int
		wantEnded []int // indexes into the 4 sessions (accounts 1,1,2,3)
	}{
		{"End", func(tb *Table, ids []string, _ []uint64) int { return b2i(tb.End(ids[1])) }, 1, []int{1}},
		{"End twice", func(tb *Table, ids []string, _ []uint64) int {
			tb.End(ids[1])
			return b2i(tb.End(ids[1]))
		}, 0, []int{1}},
		{"End unknown", func(tb *Table, _ []string, _ []uint64) int { return b2i(tb.End("nope")) }, 0, nil},
		{"EndLabel", func(tb *Table, _ []string, l []uint64) int { return b2i(tb.EndLabel(l[2])) }, 1, []int{2}},
		{"EndLabel unknown", func(tb *Table, _ []string, _ []uint64) int { return b2i(tb.EndLabel(999)) }, 0, nil},
		{"EndAccount", func(tb *Table, _ []string, _ []uint64) int { return tb.EndAccount(1) }, 2, []int{0, 1}},
		{"EndAccount none", func(tb *Table, _ []string, _ []uint64) int { return tb.EndAccount(9) }, 0, nil},
		{"EndAll", func(tb *Table, _ []string, _ []uint64) int { return tb.EndAll() }, 4, []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable(t, 10)
			var ids []string
			var labels []uint64
			for i, acct := range []int{1, 1, 2, 3} {
				id, l := mustCreate(t, tb, acct, t0.Add(time.Duration(i)*time.Minute))
				ids, labels = append(ids, id), append(labels, l)
			}
			if got := tt.op(tb, ids, labels); got != tt.wantN {
				t.Fatalf("%s = %d, want %d", tt.name, got, tt.wantN)
			}
			checkInvariants(t, tb)
			want := make([]State, 4)
			for i := range want {
				want[i] = Live
			}
			for _, i := range tt.wantEnded {
				want[i] = Ended
			}
			if diff := cmp.Diff(want, states(tb, ids, t0.Add(10*time.Minute))); diff != "" {
				t.Errorf("states at +10m (-want +got):\n%s", diff)
			}
			if got, want := tb.Len(), 4-len(tt.wantEnded); got != want {
				t.Errorf("Len() = %d, want %d", got, want)
			}
			// An ended session is remembered for one IdleTimeout after
			// the end (the latest time seen was +3m), then it is Gone.
			for i := range want {
				if want[i] == Ended {
					want[i] = Gone
				} else {
					want[i] = Expired
				}
			}
			if diff := cmp.Diff(want, states(tb, ids, t0.Add(3*time.Minute+idle))); diff != "" {
				t.Errorf("states at +38m (-want +got):\n%s", diff)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func states(tb *Table, ids []string, now time.Time) []State {
	var out []State
	for _, id := range ids {
		_, st := tb.Lookup(id, now, false)
		out = append(out, st)
	}
	return out
}

func TestTombstones(t *testing.T) {
	tb := newTable(t, 10)
	expiring, _ := mustCreate(t, tb, 1, t0)
	ending, _ := mustCreate(t, tb, 1, t0)
	tb.Lookup(ending, t0.Add(10*time.Minute), true)
	tb.End(ending)

	steps := []struct {
		at   time.Duration
		want []State // expiring, ending
	}{
		{34 * time.Minute, []State{Live, Ended}},
		{36 * time.Minute, []State{Expired, Ended}},
		{45*time.Minute - 1, []State{Expired, Ended}},
		{45 * time.Minute, []State{Expired, Gone}},
		{70*time.Minute - 1, []State{Expired, Gone}},
		{70 * time.Minute, []State{Gone, Gone}},
		{24 * time.Hour, []State{Gone, Gone}},
	}
	for _, s := range steps {
		if diff := cmp.Diff(s.want, states(tb, []string{expiring, ending}, t0.Add(s.at))); diff != "" {
			t.Errorf("states at +%v (-want +got):\n%s", s.at, diff)
		}
		checkInvariants(t, tb)
	}
	tb.Len()
	if n := len(tb.index); n != 0 {
		t.Errorf("after a day the table still stores %d records, want 0", n)
	}
}

func TestMinted(t *testing.T) {
	tb := newTable(t, 10)
	live, l1 := mustCreate(t, tb, 1, t0)
	ended, l2 := mustCreate(t, tb, 1, t0)
	tb.End(ended)
	expired, l3 := mustCreate(t, tb, 1, t0)
	tb.Lookup(live, t0.Add(30*time.Minute), true)
	tb.Lookup(live, t0.Add(40*time.Minute), false) // expired is swept now
	gone, l4 := mustCreate(t, tb, 1, t0.Add(40*time.Minute))
	tb.End(gone)
	tb.Len()
	tb.Lookup(live, t0.Add(76*time.Minute), false) // gone is forgotten

	for _, c := range []struct {
		name  string
		id    string
		label uint64
		state State
	}{
		{"live", live, l1, Expired}, {"ended", ended, l2, Gone}, {"expired", expired, l3, Gone}, {"forgotten", gone, l4, Gone},
	} {
		label, ok := tb.Minted(c.id)
		if !ok || label != c.label {
			t.Errorf("Minted(%s) = %d, %v; want %d, true", c.name, label, ok, c.label)
		}
		if _, st := tb.Lookup(c.id, t0.Add(76*time.Minute), false); st != c.state {
			t.Errorf("Lookup(%s) = %v, want %v", c.name, st, c.state)
		}
	}

	other, err := New(Config{IdleTimeout: idle, Max: 10, Key: []byte("another key, sixteen bytes long")})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := mustCreate(t, other, 1, t0)

	// Recognition needs no stored session: a table with the same key
	// that has issued label 1 recognizes label 1, but not label 2
	// before it has issued it.
	fresh := newTable(t, 10)
	mustCreate(t, fresh, 1, t0)
	if _, ok := fresh.Minted(live); !ok {
		t.Errorf("a table with the same key does not recognize label 1")
	}
	if _, ok := fresh.Minted(ended); ok {
		t.Errorf("a table recognizes label 2 before issuing it")
	}

	rejects := map[string]string{
		"empty":         "",
		"foreign key":   foreign,
		"short":         live[:IDLen-1],
		"long":          live + "A",
		"padding":       live[:IDLen-1] + "=",
		"bad character": "!" + live[1:],
		"unicode":       "é" + live[2:],
	}
	// A change to any one character must be refused, including the two
	// spare bits of the last one, which would otherwise decode alike.
	for i := 0; i < IDLen; i++ {
		b := []byte(live)
		b[i] = idAlphabet[(strings.IndexByte(idAlphabet, b[i])+1)%64]
		rejects[fmt.Sprintf("tampered at %d", i)] = string(b)
	}
	for name, id := range rejects {
		if label, ok := tb.Minted(id); ok {
			t.Errorf("Minted(%s) = %d, true; want false", name, label)
		}
		if info, st := tb.Lookup(id, t0.Add(76*time.Minute), true); st != Unknown || info != (Info{}) {
			t.Errorf("Lookup(%s) = %+v, %v; want zero info, unknown", name, info, st)
		}
		if tb.End(id) {
			t.Errorf("End(%s) = true, want false", name)
		}
	}
}

func TestTamperedLiveID(t *testing.T) {
	tb := newTable(t, 10)
	id, _ := mustCreate(t, tb, 1, t0)
	// Keep the 16 key bytes (the first 21 characters), alter the tag.
	b := []byte(id)
	b[IDLen-3] = idAlphabet[(strings.IndexByte(idAlphabet, b[IDLen-3])+1)%64]
	if _, st := tb.Lookup(string(b), t0, true); st != Unknown {
		t.Errorf("Lookup of a live id with an altered tag = %v, want unknown", st)
	}
	if tb.End(string(b)) {
		t.Errorf("End of a live id with an altered tag = true, want false")
	}
	if _, st := tb.Lookup(id, t0, false); st != Live {
		t.Errorf("the real id is %v, want live", st)
	}
}

func TestCap(t *testing.T) {
	tb := newTable(t, 3)
	var ids []string
	for i := range 3 {
		id, _ := mustCreate(t, tb, 1, t0.Add(time.Duration(i)*time.Minute))
		ids = append(ids, id)
	}
	if _, _, err := tb.Create(1, t0.Add(3*time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("Create at cap: err = %v, want ErrFull", err)
	}
	tb.End(ids[1])
	_, label := mustCreate(t, tb, 1, t0.Add(4*time.Minute))
	if label != 4 {
		t.Errorf("label after a refused Create = %d, want 4 (a refusal uses no label)", label)
	}
	if _, _, err := tb.Create(1, t0.Add(5*time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("Create at cap: err = %v, want ErrFull", err)
	}
	// At +35m the first session has expired; Create sweeps before it
	// counts.
	mustCreate(t, tb, 1, t0.Add(idle))
	if got := tb.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
	if got := tb.Peak(); got != 3 {
		t.Errorf("Peak() = %d, want 3", got)
	}
	checkInvariants(t, tb)
}

func TestTombstoneCap(t *testing.T) {
	tb := newTable(t, 5)
	var ids []string
	for i := range 20 {
		id, _ := mustCreate(t, tb, 1, t0.Add(time.Duration(i)*time.Second))
		tb.End(id)
		ids = append(ids, id)
	}
	checkInvariants(t, tb)
	if n := tb.expired.n + tb.ended.n; n != 5 {
		t.Errorf("tombstones = %d, want 5 (capped at Max)", n)
	}
	got := states(tb, ids, t0.Add(time.Minute))
	for i, st := range got {
		want := Gone
		if i >= 15 {
			want = Ended
		}
		if st != want {
			t.Errorf("session %d: state %v, want %v", i, st, want)
		}
	}
}

func TestSweepCost(t *testing.T) {
	const n, k = 10000, 100
	tb := newTable(t, n)
	for i := range n {
		mustCreate(t, tb, i, t0.Add(time.Duration(i)*time.Millisecond))
	}
	tests := []struct {
		name    string
		at      time.Duration
		expired int
	}{
		{"none due", idle - time.Millisecond, 0},
		{"k due", idle + (k-1)*time.Millisecond, k},
		{"k more due", idle + (2*k-1)*time.Millisecond, k},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, live := tb.visited, tb.live.n
			tb.List(t0.Add(tt.at), 1)
			visited := tb.visited - before
			if got := live - tb.live.n; got != tt.expired {
				t.Errorf("swept %d sessions, want %d", got, tt.expired)
			}
			// The expired ones, plus one live and one per tombstone list
			// to see that they are not due.
			if max := uint64(tt.expired) + 3; visited > max {
				t.Errorf("sweep visited %d records for %d expired of %d; want at most %d", visited, tt.expired, n, max)
			}
		})
	}
	checkInvariants(t, tb)
}

func TestLookupSweepIsBounded(t *testing.T) {
	const n = 1000
	tb := newTable(t, n)
	var last string
	for i := range n {
		last, _ = mustCreate(t, tb, i, t0)
	}
	before := tb.visited
	if _, st := tb.Lookup(last, t0.Add(idle), false); st != Expired {
		t.Fatalf("Lookup = %v, want expired", st)
	}
	if v := tb.visited - before; v > lookupSweep+3 {
		t.Errorf("one Lookup visited %d records, want at most %d", v, lookupSweep+3)
	}
	checkInvariants(t, tb)
}

func TestCreateSweepIsBounded(t *testing.T) {
	const n = 1000
	tb := newTable(t, 2*n)
	for i := range n {
		mustCreate(t, tb, i, t0)
	}
	before := tb.visited
	mustCreate(t, tb, 1, t0.Add(idle))
	if v := tb.visited - before; v > createSweep+3 {
		t.Errorf("one Create visited %d records, want at most %d", v, createSweep+3)
	}
	checkInvariants(t, tb)
}

// A table at its cap whose sessions have all expired makes room for
// every Create, and the sweeps cost O(expired) in all.
func TestCreateMakesRoomWhenFullOfExpired(t *testing.T) {
	const n = 1000
	tb := newTable(t, n)
	for i := range n {
		mustCreate(t, tb, i, t0)
	}
	before := tb.visited
	for i := range n {
		if _, _, err := tb.Create(1, t0.Add(idle)); err != nil {
			t.Fatalf("Create %d into a table full of expired sessions: %v", i, err)
		}
	}
	if v := tb.visited - before; v > 5*n {
		t.Errorf("%d Creates visited %d records, want at most %d", n, v, 5*n)
	}
	if _, _, err := tb.Create(1, t0.Add(idle)); !errors.Is(err, ErrFull) {
		t.Errorf("Create past the cap: err = %v, want ErrFull", err)
	}
	if got := tb.Len(); got != n {
		t.Errorf("Len() = %d, want %d", got, n)
	}
	if got := tb.Peak(); got != n {
		t.Errorf("Peak() = %d, want %d", got, n)
	}
	checkInvariants(t, tb)
}

func TestRebuild(t *testing.T) {
	const n = 4 * rebuildMin
	tb := newTable(t, n+10)
	for i := range n {
		mustCreate(t, tb, i, t0)
	}
	// Sessions made later survive the sweep and the rebuild.
	var keep []string
	for i := range 10 {
		id, _ := mustCreate(t, tb, i, t0.Add(30*time.Minute))
		keep = append(keep, id)
	}
	if tb.rebuilds != 0 {
		t.Fatalf("rebuilt %d times while growing, want 0", tb.rebuilds)
	}
	// +70m: the first n have expired and been forgotten.
	tb.Touch(keep[0], t0.Add(50*time.Minute))
	tb.List(t0.Add(70*time.Minute), 0)
	if tb.rebuilds != 1 {
		t.Fatalf("rebuilds = %d, want 1", tb.rebuilds)
	}
	if got := len(tb.entries); got > 2*len(keep) {
		t.Errorf("after rebuild the slice holds %d records for %d sessions", got, len(keep))
	}
	checkInvariants(t, tb)
	if got := tb.Len(); got != 1 {
		t.Fatalf("Len() = %d, want 1", got)
	}
	if _, st := tb.Lookup(keep[0], t0.Add(70*time.Minute), false); st != Live {
		t.Errorf("touched session after rebuild: %v, want live", st)
	}
	if _, st := tb.Lookup(keep[1], t0.Add(70*time.Minute), false); st != Expired {
		t.Errorf("untouched session after rebuild: %v, want expired", st)
	}
	if got := tb.Peak(); got != n+10 {
		t.Errorf("Peak() = %d, want %d", got, n+10)
	}
}

func TestClockBackwards(t *testing.T) {
	tb := newTable(t, 100)
	a, _ := mustCreate(t, tb, 1, t0.Add(10*time.Minute))
	b, _ := mustCreate(t, tb, 1, t0) // the clock went back 10 minutes
	tb.Touch(a, t0.Add(5*time.Minute))
	checkInvariants(t, tb)

	// a was used at +10m and never earlier; b is ordered after a.
	if info, _ := tb.Lookup(a, t0.Add(10*time.Minute), false); !info.LastUse.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("a touch moved last use backwards to %v", info.LastUse)
	}
	if diff := cmp.Diff([]State{Live, Live}, states(tb, []string{a, b}, t0.Add(44*time.Minute))); diff != "" {
		t.Errorf("states at +44m (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]State{Expired, Expired}, states(tb, []string{a, b}, t0.Add(45*time.Minute))); diff != "" {
		t.Errorf("states at +45m (-want +got):\n%s", diff)
	}
	// Going back again after a sweep changes nothing stored.
	if _, st := tb.Lookup(a, t0, true); st != Expired && st != Live {
		t.Errorf("Lookup with an earlier clock = %v", st)
	}
	checkInvariants(t, tb)

	// After EndAll, a clock reset to the start begins afresh.
	tb.EndAll()
	c, _ := mustCreate(t, tb, 1, t0)
	if _, st := tb.Lookup(c, t0.Add(34*time.Minute), false); st != Live {
		t.Errorf("session made after a clock reset: %v at +34m, want live", st)
	}
	checkInvariants(t, tb)
}

func TestClockBackwardsKeepsOrder(t *testing.T) {
	tb := newTable(t, 100)
	a, _ := mustCreate(t, tb, 1, t0.Add(10*time.Minute))
	// An earlier now must not lower the table's notion of the present:
	// a logout is still judged at +10m.
	tb.Lookup(a, t0, false)
	tb.End(a)
	if _, st := tb.Lookup(a, t0.Add(44*time.Minute), false); st != Ended {
		t.Errorf("ended at +10m, state at +44m = %v, want ended", st)
	}

	// A session made after the clock went back expires in its own
	// time, but the tombstone lists stay ordered.
	c, _ := mustCreate(t, tb, 1, t0.Add(11*time.Minute))
	tb.Lookup(c, t0.Add(47*time.Minute), false)
	tb.EndAll()
	d, _ := mustCreate(t, tb, 1, t0)
	tb.Lookup(d, t0.Add(48*time.Minute), false)
	checkInvariants(t, tb)
}

func TestExtremeTimes(t *testing.T) {
	tb := newTable(t, 10)
	for _, now := range []time.Time{{}, time.Unix(1<<62, 0), time.Unix(-1<<62, 0), t0} {
		id, _ := mustCreate(t, tb, 1, now)
		tb.Lookup(id, now, true)
		tb.Lookup(id, now.Add(time.Hour), true)
	}
	checkInvariants(t, tb)
}

func TestList(t *testing.T) {
	tb := newTable(t, 10)
	var ids []string
	for i := range 4 {
		id, _ := mustCreate(t, tb, i, t0.Add(time.Duration(i)*time.Minute))
		ids = append(ids, id)
	}
	tb.Touch(ids[0], t0.Add(10*time.Minute))
	tb.End(ids[2])

	info := func(label uint64, account int, created, lastUse time.Duration) Info {
		return Info{Label: label, Account: account, Created: t0.Add(created), LastUse: t0.Add(lastUse)}
	}
	tests := []struct {
		at    time.Duration
		limit int
		want  []Info
	}{
		{10 * time.Minute, 0, []Info{info(2, 1, time.Minute, time.Minute), info(4, 3, 3*time.Minute, 3*time.Minute), info(1, 0, 0, 10*time.Minute)}},
		{10 * time.Minute, 2, []Info{info(2, 1, time.Minute, time.Minute), info(4, 3, 3*time.Minute, 3*time.Minute)}},
		{36 * time.Minute, -1, []Info{info(4, 3, 3*time.Minute, 3*time.Minute), info(1, 0, 0, 10*time.Minute)}},
		{2 * time.Hour, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("at %v limit %d", tt.at, tt.limit), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tb.List(t0.Add(tt.at), tt.limit)); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRandomKey(t *testing.T) {
	a, err := New(Config{IdleTimeout: idle, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{IdleTimeout: idle, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := a.Create(1, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Minted(id); !ok {
		t.Errorf("a table does not recognize its own id")
	}
	if _, ok := b.Minted(id); ok {
		t.Errorf("two tables with random keys recognize each other's ids")
	}
}

func TestConcurrent(t *testing.T) {
	tb := newTable(t, 1000)
	var clock atomic.Int64 // seconds after t0
	now := func() time.Time { return t0.Add(time.Duration(clock.Load()) * time.Second) }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var mine []string
			for i := range 500 {
				switch i % 5 {
				case 0, 1:
					if id, _, err := tb.Create(g, now()); err == nil {
						mine = append(mine, id)
					}
				case 2:
					clock.Add(30)
				case 3:
					if len(mine) > 0 {
						tb.Lookup(mine[i%len(mine)], now(), true)
					}
				case 4:
					if len(mine) > 0 {
						tb.End(mine[0])
						mine = mine[1:]
					}
					if i%100 == 4 {
						tb.EndAccount(g)
						tb.List(now(), 10)
						tb.Len()
					}
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, tb)
	if tb.Peak() < 1 || tb.Peak() > 1000 {
		t.Errorf("Peak() = %d, want 1..1000", tb.Peak())
	}
}
