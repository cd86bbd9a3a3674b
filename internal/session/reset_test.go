package session

import (
	"testing"
	"time"
)

func TestResetKeepsKeyAndLabels(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tbl, err := New(Config{IdleTimeout: 35 * time.Minute, Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	old, label1, _ := tbl.Create(1, start)
	tbl.Lookup(old, start.Add(2*time.Hour), false) // the table has now seen +2h

	tbl.Reset()
	if got := tbl.Len(); got != 0 {
		t.Errorf("Len after Reset = %d, want 0", got)
	}
	if _, st := tbl.Lookup(old, start, false); st != Gone {
		t.Errorf("old id after Reset: state %v, want gone", st)
	}
	if l, ok := tbl.Minted(old); !ok || l != label1 {
		t.Errorf("Minted(old) = %d, %v; want %d, true", l, ok, label1)
	}
	id, label2, err := tbl.Create(1, start)
	if err != nil || label2 <= label1 {
		t.Fatalf("Create after Reset: label %d, err %v; want a label after %d", label2, err, label1)
	}
	if got := tbl.Len(); got != 1 {
		t.Errorf("Len after a new session at the start time = %d, want 1", got)
	}
	if !tbl.End(id) {
		t.Errorf("End of a session created after Reset = false, want true")
	}
}
