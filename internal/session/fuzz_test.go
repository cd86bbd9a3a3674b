package session

import (
	"testing"
)

// FuzzLookup checks that no string, however malformed, makes the table
// panic or disturbs its lists, and that only ids it minted are known.
// (The seed ids were minted by a table with the same key, possibly in
// another process, so they read as minted but Gone.)
func FuzzLookup(f *testing.F) {
	tb := newTable(f, 10)
	id, _ := mustCreate(f, tb, 1, t0)
	f.Add(id)
	f.Add(id[:IDLen-1] + "B")
	f.Add("")
	f.Add("====================")
	f.Add("\xff" + id[1:])
	f.Fuzz(func(t *testing.T, s string) {
		label, minted := tb.Minted(s)
		info, st := tb.Lookup(s, t0, true)
		switch {
		case !minted && (st != Unknown || info != (Info{})):
			t.Fatalf("Lookup(%q) = %+v, %v for an id not minted; want zero info, unknown", s, info, st)
		case minted && (st == Unknown || info.Label != label):
			t.Fatalf("Lookup(%q) = %+v, %v for minted label %d", s, info, st, label)
		case minted && len(s) != IDLen:
			t.Fatalf("Minted(%q) = true for a string of length %d", s, len(s))
		}
		if !minted && tb.End(s) {
			t.Fatalf("End(%q) = true, want false", s)
		}
		checkInvariants(t, tb)
	})
}
