package sessiontest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"sync"

	"github.com/fakebill/toolkit/fakebill"
)

// leakWatch sits in the fake's journal sink and keeps every entry that
// recorded a leak, so that the check at cleanup still sees leaks the
// journal ring has evicted or a test has cleared. It passes every line on
// to the sink the options named, if any.
type leakWatch struct {
	next io.Writer

	mu      sync.Mutex
	partial []byte // an unfinished line, should a write split one
	leaks   []fakebill.Entry
}

// leakKey is how a journal line that recorded a leak starts its leaks; a
// line without it is not decoded, which keeps the watch cheap.
var leakKey = []byte(`"leaks":`)

// Write takes journal lines, one JSON entry per line.
func (w *leakWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	buf := append(w.partial, p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		w.keep(buf[:i])
		buf = buf[i+1:]
	}
	w.partial = append(w.partial[:0], buf...)
	w.mu.Unlock()

	// BUG(fakebill): if the JournalWriter given in the options fails, the
	// fake stops writing its sink, this watch included; leaks the journal
	// ring then evicts or a test clears are missed by the cleanup check.
	if w.next != nil {
		return w.next.Write(p)
	}
	return len(p), nil
}

// keep records line if it is an entry with leaks.
func (w *leakWatch) keep(line []byte) {
	if !bytes.Contains(line, leakKey) {
		return
	}
	var e fakebill.Entry
	if json.Unmarshal(line, &e) == nil && len(e.Leaks) > 0 {
		w.leaks = append(w.leaks, e)
	}
}

// Leaks returns the requests that carried a secret in their URL since the
// server started, in the order they arrived, whether or not the journal
// still holds them.
func (s *Server) Leaks() []fakebill.Entry {
	all := s.fake.Leaks()
	s.watch.mu.Lock()
	all = append(all, s.watch.leaks...)
	s.watch.mu.Unlock()
	slices.SortFunc(all, func(a, b fakebill.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return slices.CompactFunc(all, func(a, b fakebill.Entry) bool { return a.Seq == b.Seq })
}
